//! A server's accept task and the signal that ends it, for the embedded server and the gateway:
//! stopping waits for the task; dropping only signals.

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running accept loop. Dropping it tells the loop to stop.
#[derive(Debug)]
pub(crate) struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    /// The loop `task`, which ends when `stop` fires.
    pub(crate) fn new(stop: oneshot::Sender<()>, task: JoinHandle<()>) -> Self {
        Running {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Signals the loop and waits until it has ended.
    pub(crate) async fn stop(mut self) {
        self.signal();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }

    fn signal(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.signal();
    }
}
