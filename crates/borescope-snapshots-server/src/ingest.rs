//! Group commit for uploads: handlers hand their upload to one task, which writes every upload
//! waiting at that moment in a single transaction and answers each once it is committed. Under
//! load many uploads share one commit (fewer WAL pages written again and again, fewer commits);
//! alone, an upload is written at once.

use crate::store::snapshots::{Stored, UploadBatch};
use crate::store::Store;
use tokio::sync::{mpsc, oneshot};

/// Snapshots written in one transaction, at most (a group stops growing past this).
const MAX_GROUP_SNAPSHOTS: usize = 2000;
/// Uploads waiting for the writer, at most (then handlers wait to queue: back-pressure).
const QUEUE: usize = 256;

struct Job {
    upload: UploadBatch,
    answer: oneshot::Sender<Result<Stored, String>>,
}

/// The handle handlers queue uploads on.
pub struct Ingest {
    queue: mpsc::Sender<Job>,
}

impl Ingest {
    /// Starts the writer task on the current runtime.
    pub fn start(store: Store) -> Ingest {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(write(store, jobs));
        Ingest { queue }
    }

    /// Stores an upload; answers once it is committed. The error is for the log only.
    pub async fn store(&self, upload: UploadBatch) -> Result<Stored, String> {
        let (answer, answered) = oneshot::channel();
        self.queue.send(Job { upload, answer }).await.map_err(|_| "the writer task stopped".to_string())?;
        answered.await.map_err(|_| "the writer task stopped".to_string())?
    }
}

/// Writes groups of waiting uploads until every handle is gone.
async fn write(store: Store, mut jobs: mpsc::Receiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut size = first.upload.snapshots.len();
        let mut group = vec![first];
        while size < MAX_GROUP_SNAPSHOTS {
            match jobs.try_recv() {
                Ok(job) => {
                    size += job.upload.snapshots.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let (uploads, answers): (Vec<UploadBatch>, Vec<_>) = group.into_iter().map(|job| (job.upload, job.answer)).unzip();
        match store.store_uploads(&uploads).await {
            Ok(stored) => {
                for (answer, stored) in answers.into_iter().zip(stored) {
                    let _ = answer.send(Ok(stored));
                }
            }
            Err(error) => {
                let message = error.to_string();
                for answer in answers {
                    let _ = answer.send(Err(message.clone()));
                }
            }
        }
    }
}
