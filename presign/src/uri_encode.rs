//! Hex encoding for signatures and hashes; SigV4's `UriEncode` itself is `signpost_wire::uri`,
//! shared with the uploader.

pub(crate) use signpost_wire::uri::{
    decode_path, decode_query_component, encode, encode_component_bytes_into,
    encode_component_into, encode_path_bytes_into, encode_path_into,
};

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";

/// Lower-case hex of `bytes`, appended to `out`.
pub(crate) fn hex_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(HEX_LOWER[usize::from(b >> 4)] as char);
        out.push(HEX_LOWER[usize::from(b & 15)] as char);
    }
}

/// Each byte's two lower-case hex digits: one load and one two-byte store per byte.
const HEX_PAIRS: [[u8; 2]; 256] = {
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX_LOWER[i >> 4], HEX_LOWER[i & 15]];
        i += 1;
    }
    t
};

/// Lower-case hex of a SHA-256 digest into a fixed buffer: the signing hot path, no allocation.
pub(crate) fn hex_into_array(out: &mut [u8; 64], bytes: &[u8; 32]) {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(*b)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_hex_encoders_agree() {
        let mut digest = [0u8; 32];
        for (i, b) in digest.iter_mut().enumerate() {
            *b = (i * 37 + 5) as u8;
        }
        let mut fast = [0u8; 64];
        hex_into_array(&mut fast, &digest);
        let mut slow = String::new();
        hex_into(&mut slow, &digest);
        assert_eq!(std::str::from_utf8(&fast).unwrap(), slow);
    }
}
