//! The fault proxy: a loopback TCP relay whose forwarding can be cut, reset, refused and
//! delayed on demand. It knows nothing about WebSockets or Pusher, so it works in front of
//! any server.
//!
//! Every control is a value in a `watch` channel; each connection's tasks react to changes,
//! so a control call only stores a value and returns at once.

use super::{FaultError, FaultKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until, timeout};

/// Connecting to the upstream gives up after this long (the client then sees a reset).
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Chunks in flight per direction before reading pauses (back-pressure while delayed).
const QUEUE: usize = 256;

/// What the proxy is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProxyStatus {
    pub cut: bool,
    pub down: bool,
    pub delay: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Control {
    status: ProxyStatus,
    /// Bumped by `drop_all`: connections opened under an older value reset themselves.
    generation: u64,
    /// The handle is gone: every connection ends.
    closed: bool,
}

pub struct FaultProxy;

impl FaultProxy {
    /// Listen on 127.0.0.1 (a free port) and relay every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<FaultHandle> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let (ctl, _) = watch::channel(Control::default());
        let ctl = Arc::new(ctl);
        let live = Arc::new(AtomicUsize::new(0));
        let accept = tokio::spawn(accept_loop(listener, upstream, ctl.clone(), live.clone()));
        Ok(FaultHandle {
            addr,
            upstream,
            ctl,
            live,
            accept,
        })
    }
}

/// Controls of a running proxy. Dropping it closes the listener and every connection.
pub struct FaultHandle {
    addr: SocketAddr,
    upstream: SocketAddr,
    ctl: Arc<watch::Sender<Control>>,
    live: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl FaultHandle {
    /// Where clients connect instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    pub fn status(&self) -> ProxyStatus {
        self.ctl.borrow().status
    }

    /// Connections being relayed now.
    pub fn connection_count(&self) -> usize {
        self.live.load(Ordering::SeqCst)
    }

    /// Stop forwarding in both directions; sockets stay open. Bytes wait until `restore`.
    pub fn cut(&self) {
        self.ctl.send_modify(|c| c.status.cut = true);
    }

    /// Reset every current connection now (RST, not FIN, on both sides).
    pub fn drop_all(&self) {
        self.ctl.send_modify(|c| c.generation += 1);
    }

    /// Refuse new connections (accepted and reset at once) until `restore`.
    pub fn down(&self) {
        self.ctl.send_modify(|c| c.status.down = true);
    }

    /// Hold every chunk this long before forwarding it (0 turns the delay off).
    pub fn delay(&self, delay: Duration) {
        let delay = delay.min(Duration::from_millis(super::MAX_DELAY_MS));
        self.ctl.send_modify(|c| c.status.delay = delay);
    }

    /// Forward normally again: no cut, not down, no delay.
    pub fn restore(&self) {
        self.ctl.send_modify(|c| c.status = ProxyStatus::default());
    }

    /// Apply a network fault; `close` and `no_pong` need the demo server, the node faults
    /// the demo cluster.
    pub fn apply(&self, fault: &FaultKind) -> Result<(), FaultError> {
        match fault {
            FaultKind::Cut => self.cut(),
            FaultKind::Drop => self.drop_all(),
            FaultKind::Down => self.down(),
            FaultKind::Delay { ms } => {
                fault.clone().validate()?;
                self.delay(Duration::from_millis(*ms));
            }
            FaultKind::Restore => self.restore(),
            FaultKind::Close { .. } | FaultKind::NoPong => {
                return Err(FaultError::NeedsDemoServer(fault.label()));
            }
            FaultKind::KillNode { .. }
            | FaultKind::Partition { .. }
            | FaultKind::KeepMember { .. } => {
                return Err(FaultError::NeedsDemoCluster(fault.label()));
            }
        }
        Ok(())
    }
}

impl Drop for FaultHandle {
    fn drop(&mut self) {
        self.accept.abort();
        self.ctl.send_modify(|c| c.closed = true);
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    ctl: Arc<watch::Sender<Control>>,
    live: Arc<AtomicUsize>,
) {
    loop {
        let client = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!("fault proxy accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if ctl.borrow().status.down {
            // A reset right after accept reads to the client like a refused connection.
            let _ = client.set_zero_linger();
            drop(client);
            continue;
        }
        let _ = client.set_nodelay(true);
        let rx = ctl.subscribe();
        let live = live.clone();
        live.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            relay(client, upstream, rx).await;
            live.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr, mut ctl: watch::Receiver<Control>) {
    let generation = ctl.borrow().generation;
    let server = match timeout(UPSTREAM_CONNECT_TIMEOUT, TcpStream::connect(upstream)).await {
        Ok(Ok(s)) => s,
        _ => {
            let _ = client.set_zero_linger();
            return;
        }
    };
    let _ = server.set_nodelay(true);
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    // The pipes borrow the halves; they end with this block, before the halves are reset.
    let reset = {
        let up = pipe(&mut cr, &mut sw, ctl.clone());
        let down = pipe(&mut sr, &mut cw, ctl.clone());
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        let mut reset = false;
        while !(up_done && down_done) {
            tokio::select! {
                r = &mut up, if !up_done => {
                    up_done = true;
                    if r.is_err() { reset = true; break; }
                }
                r = &mut down, if !down_done => {
                    down_done = true;
                    if r.is_err() { reset = true; break; }
                }
                _ = killed(&mut ctl, generation) => {
                    reset = true;
                    break;
                }
            }
        }
        reset
    };
    if reset {
        // Dropping a write half sends FIN, so put each socket back together first; then
        // SO_LINGER 0 makes its drop send RST.
        for (r, w) in [(cr, cw), (sr, sw)] {
            if let Ok(stream) = r.reunite(w) {
                let _ = stream.set_zero_linger();
            }
        }
    }
}

/// Resolves when this connection must be reset: `drop_all` since it opened, or the handle
/// is gone.
async fn killed(ctl: &mut watch::Receiver<Control>, generation: u64) {
    let _ = ctl
        .wait_for(|c| c.generation != generation || c.closed)
        .await;
}

/// Wait while the proxy is cut; false when the handle is gone.
async fn not_cut(ctl: &mut watch::Receiver<Control>) -> bool {
    ctl.wait_for(|c| !c.status.cut || c.closed).await.is_ok()
}

/// Forward `src` to `dst` honouring cut and delay. Ends with FIN on `dst` when `src` ends.
async fn pipe(
    src: &mut OwnedReadHalf,
    dst: &mut OwnedWriteHalf,
    ctl: watch::Receiver<Control>,
) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUE);
    let mut read_ctl = ctl.clone();
    let reader = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            // While cut, leave bytes in the kernel: like a dead link, they arrive later or never.
            if !not_cut(&mut read_ctl).await {
                return Ok(());
            }
            let n = src.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            if tx.send((Instant::now(), buf[..n].to_vec())).await.is_err() {
                return Ok(());
            }
        }
    };
    let mut write_ctl = ctl;
    let writer = async move {
        while let Some((read_at, bytes)) = rx.recv().await {
            let delay = write_ctl.borrow().status.delay;
            sleep_until(read_at + delay).await;
            if !not_cut(&mut write_ctl).await {
                return Ok(());
            }
            dst.write_all(&bytes).await?;
        }
        dst.shutdown().await
    };
    tokio::try_join!(reader, writer).map(|_| ())
}
