//! A bounded channel of records in batches: from the client task to its watcher, and from a
//! watcher that adds records of its own (a session) to the next. A busy stream costs one
//! channel operation (and at most one wake-up) per burst instead of per record; the
//! receiving side still hands them out one at a time.

use crate::record::Stamped;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

/// The most records one batch should hold; the client task sends when it has this many.
pub const BATCH_RECORDS: usize = 128;

/// A bounded records channel holding about `records` records (in batches of up to
/// [`BATCH_RECORDS`]).
pub fn channel<T>(records: usize) -> (RecordSender<T>, Records<T>) {
    let (tx, rx) = mpsc::channel((records / BATCH_RECORDS).max(1));
    (
        RecordSender(tx),
        Records {
            rx,
            pending: Vec::new().into_iter(),
        },
    )
}

/// The watcher has gone: its receiver was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatcherGone;

/// The sending end; `T` is what travels, the client's [`Stamped`] records by default.
#[derive(Debug)]
pub struct RecordSender<T = Stamped>(mpsc::Sender<Vec<T>>);

impl<T> Clone for RecordSender<T> {
    fn clone(&self) -> Self {
        RecordSender(self.0.clone())
    }
}

impl<T> RecordSender<T> {
    /// Send one record, waiting while the channel is full (that wait is the backpressure).
    pub async fn send(&self, record: T) -> Result<(), WatcherGone> {
        self.0.send(vec![record]).await.map_err(|_| WatcherGone)
    }

    /// Send records in order as one batch; an empty batch is not sent.
    pub async fn send_batch(&self, batch: Vec<T>) -> Result<(), WatcherGone> {
        if batch.is_empty() {
            return if self.0.is_closed() {
                Err(WatcherGone)
            } else {
                Ok(())
            };
        }
        self.0.send(batch).await.map_err(|_| WatcherGone)
    }
}

/// The watcher's end: records one at a time, in the order they were sent.
#[derive(Debug)]
pub struct Records<T = Stamped> {
    rx: mpsc::Receiver<Vec<T>>,
    /// The rest of the batch being handed out.
    pending: std::vec::IntoIter<T>,
}

impl<T> Records<T> {
    /// The next record; `None` once every sender is gone and everything was received.
    /// Cancel-safe, like `mpsc::Receiver::recv`: nothing is lost if it is dropped unfinished.
    pub async fn recv(&mut self) -> Option<T> {
        if let Some(r) = self.pending.next() {
            return Some(r);
        }
        let batch = self.rx.recv().await?;
        self.pending = batch.into_iter();
        self.pending.next()
    }

    /// The next record if one is waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        loop {
            if let Some(r) = self.pending.next() {
                return Ok(r);
            }
            self.pending = self.rx.try_recv()?.into_iter();
        }
    }

    /// Every record waiting now, in order, waiting for at least one; `None` at the end.
    /// Cancel-safe. For forwarding and writing in bulk.
    pub async fn recv_batch(&mut self) -> Option<Vec<T>> {
        let rest: Vec<T> = self.pending.by_ref().collect();
        if !rest.is_empty() {
            return Some(rest);
        }
        self.rx.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;

    fn rec(n: u64) -> Stamped {
        Stamped::now(Record::ConnectingIn {
            delay_ms: n,
            reason: None,
        })
    }

    fn delay(r: &Stamped) -> u64 {
        match r.record {
            Record::ConnectingIn { delay_ms, .. } => delay_ms,
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn records_come_out_one_by_one_in_order() {
        let (tx, mut rx) = channel::<Stamped>(1024);
        tx.send_batch(vec![rec(1), rec(2), rec(3)]).await.unwrap();
        tx.send(rec(4)).await.unwrap();
        tx.send_batch(Vec::new()).await.unwrap();
        assert_eq!(delay(&rx.recv().await.unwrap()), 1);
        assert_eq!(delay(&rx.try_recv().unwrap()), 2);
        // A bulk read takes the rest of the current batch first, then whole batches.
        let rest: Vec<u64> = rx.recv_batch().await.unwrap().iter().map(delay).collect();
        assert_eq!(rest, [3]);
        let next: Vec<u64> = rx.recv_batch().await.unwrap().iter().map(delay).collect();
        assert_eq!(next, [4]);
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
        drop(tx);
        assert!(rx.recv().await.is_none());
        assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Disconnected);
    }

    #[tokio::test]
    async fn a_full_channel_makes_the_sender_wait_and_a_dropped_receiver_fails_it() {
        let (tx, mut rx) = channel::<Stamped>(1); // one batch
        tx.send(rec(1)).await.unwrap();
        let blocked = tokio::time::timeout(std::time::Duration::from_millis(50), tx.send(rec(2)));
        assert!(blocked.await.is_err(), "the second batch waits for room");
        assert_eq!(delay(&rx.recv().await.unwrap()), 1);
        tx.send(rec(3)).await.unwrap();
        drop(rx);
        assert_eq!(tx.send(rec(4)).await, Err(WatcherGone));
        assert_eq!(tx.send_batch(Vec::new()).await, Err(WatcherGone));
    }
}
