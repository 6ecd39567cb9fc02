//! An error and its causes as one line, each cause once: libraries repeat an inner error in the
//! outer one's message (hyper, the AWS SDK), and a reader needs the whole chain, once.

/// `e`'s message, then each cause not already in the line, joined with `": "`.
///
/// ```
/// let e = std::io::Error::other("disk full");
/// assert_eq!(signpost_wire::error_line(&e), "disk full");
/// ```
pub fn error_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = inner.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error, &'static str);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.1)
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_are_appended_once() {
        let inner = || std::io::Error::other("connection refused");
        assert_eq!(
            error_line(&Outer(inner(), "could not connect")),
            "could not connect: connection refused"
        );
        // Already in the outer message: not repeated.
        assert_eq!(
            error_line(&Outer(inner(), "client error: connection refused")),
            "client error: connection refused"
        );
    }
}
