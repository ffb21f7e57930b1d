//! weft-bench-crossbeam: crossbeam-channel running the scenarios of weft-bench's chan_*
//! rows (bench/bench_chan.c), so that weft-bench can put crossbeam beside weft in the
//! same run (impl "crossbeam"; bench/bench_crossbeam.c starts this program once per
//! run and reads its one line of output).
//!
//! Usage: weft-bench-crossbeam SHAPE CAP MESSAGES [pin1]
//!   SHAPE     seq | spsc | mpsc | mpmc | select_rx
//!   CAP       a capacity (0: rendezvous) or "unbounded"
//!   MESSAGES  the work amount weft-bench asks of every impl of the row
//!   pin1      every thread pins itself to the first CPU this process may use
//! Output (stdout, one line): "SECONDS MESSAGES SUM": the time of the timed pass,
//! the messages it moved and the sum of the values received. Exit status 0, or 1 on
//! a failed operation, 2 on a usage error.
//!
//! Fairness invariants (the same as bench_chan.c's): the thread counts and message
//! counts are the C rows' (seq: 1 thread; spsc 1+1; mpsc 4+1; mpmc 4+4; select_rx 4
//! senders on 4 channels, 1 receiver selecting over them; each sender sends
//! MESSAGES / senders, each receiver takes its share, the first also the remainder);
//! channels and threads are made before the clock, threads wait at a start gate, and
//! the time runs from the release to the last thread's end. One untimed pass at a
//! smaller size runs first, in the same process: weft's rows run warm (their code and
//! allocator were used by the warm-up runs of the same process), a fresh process is not.

use crossbeam_channel::{bounded, unbounded, Receiver, Select, Sender};
use std::env;
use std::process;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Instant;

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Seq,
    Spsc,
    Mpsc,
    Mpmc,
    SelectRx,
}

/// The warm-up pass moves at most this many messages.
const WARMUP_MESSAGES: u64 = 20_000;

extern "C" {
    // glibc; pid 0 is the calling thread. The mask is a cpu_set_t of mask_size bytes.
    fn sched_getaffinity(pid: i32, mask_size: usize, mask: *mut u64) -> i32;
    fn sched_setaffinity(pid: i32, mask_size: usize, mask: *const u64) -> i32;
}

const CPU_WORDS: usize = 16; // 1024 CPUs, glibc's cpu_set_t

/// The first CPU of this process's affinity mask (as bench_chan.c picks it).
fn first_cpu() -> Option<usize> {
    let mut mask = [0u64; CPU_WORDS];
    // SAFETY: the mask is CPU_WORDS words long, as the size passed says.
    let r = unsafe { sched_getaffinity(0, std::mem::size_of_val(&mask), mask.as_mut_ptr()) };
    if r != 0 {
        return None;
    }
    (0..CPU_WORDS * 64).find(|&i| mask[i / 64] >> (i % 64) & 1 == 1)
}

fn pin_to(cpu: usize) -> bool {
    let mut mask = [0u64; CPU_WORDS];
    mask[cpu / 64] |= 1 << (cpu % 64);
    // SAFETY: as in first_cpu.
    unsafe { sched_setaffinity(0, std::mem::size_of_val(&mask), mask.as_ptr()) == 0 }
}

fn new_chan(cap: Option<usize>) -> (Sender<usize>, Receiver<usize>) {
    match cap {
        Some(c) => bounded(c),
        None => unbounded(),
    }
}

/// What every thread of one pass shares.
struct Pass {
    shape: Shape,
    cap: Option<usize>,
    nsend: usize,
    nrecv: usize,
    per_sender: u64,
    total: u64,
    pin: Option<usize>,
    txs: Vec<Sender<usize>>,
    rxs: Vec<Receiver<usize>>,
    ready: AtomicUsize,
    go: AtomicBool,
}

/// One thread's part; returns (sum received, ok, end time).
fn body(p: &Pass, tid: usize) -> (u64, bool, Instant) {
    // The start gate: everyone is up before the clock starts.
    p.ready.fetch_add(1, Ordering::Release);
    while !p.go.load(Ordering::Acquire) {
        thread::yield_now();
    }
    // Pinned inside the timed part, as bench_chan.c's threads are.
    let mut ok = p.pin.map_or(true, pin_to);
    let mut sum = 0u64;
    match p.shape {
        Shape::Seq => {
            let (tx, rx) = (&p.txs[0], &p.rxs[0]);
            let batch = p.cap.map_or(p.total, |c| c as u64);
            let mut done = 0u64;
            while done < p.total {
                let b = (p.total - done).min(batch);
                for i in 0..b {
                    ok &= tx.send((done + i) as usize).is_ok();
                }
                for _ in 0..b {
                    match rx.recv() {
                        Ok(v) => sum += v as u64,
                        Err(_) => ok = false,
                    }
                }
                done += b;
            }
        }
        _ if tid < p.nsend => {
            let tx = &p.txs[if p.shape == Shape::SelectRx { tid } else { 0 }];
            for i in 0..p.per_sender {
                ok &= tx.send(i as usize).is_ok();
            }
        }
        _ => {
            let k = tid - p.nsend;
            let mut mine = p.total / p.nrecv as u64;
            if k == 0 {
                mine += p.total % p.nrecv as u64;
            }
            if p.shape == Shape::SelectRx {
                let mut sel = Select::new();
                for rx in &p.rxs {
                    sel.recv(rx);
                }
                for _ in 0..mine {
                    let op = sel.select();
                    let i = op.index();
                    match op.recv(&p.rxs[i]) {
                        Ok(v) => sum += v as u64,
                        Err(_) => ok = false,
                    }
                }
            } else {
                let rx = &p.rxs[0];
                for _ in 0..mine {
                    match rx.recv() {
                        Ok(v) => sum += v as u64,
                        Err(_) => ok = false,
                    }
                }
            }
        }
    }
    (sum, ok, Instant::now())
}

/// One pass of `size` messages; returns (seconds, messages, sum, ok).
fn run(shape: Shape, cap: Option<usize>, size: u64, pin: Option<usize>) -> (f64, u64, u64, bool) {
    let (nsend, nrecv, nq) = match shape {
        Shape::Seq | Shape::Spsc => (1, 1, 1),
        Shape::Mpsc => (4, 1, 1),
        Shape::Mpmc => (4, 4, 1),
        Shape::SelectRx => (4, 1, 4),
    };
    let per_sender = (size / nsend as u64).max(1);
    let (txs, rxs) = (0..nq).map(|_| new_chan(cap)).unzip();
    let p = Arc::new(Pass {
        shape,
        cap,
        nsend,
        nrecv,
        per_sender,
        total: per_sender * nsend as u64,
        pin,
        txs,
        rxs,
        ready: AtomicUsize::new(0),
        go: AtomicBool::new(false),
    });
    let threads = if shape == Shape::Seq { 1 } else { nsend + nrecv };
    let handles: Vec<_> = (0..threads)
        .map(|tid| {
            let p = Arc::clone(&p);
            thread::spawn(move || body(&p, tid))
        })
        .collect();
    while p.ready.load(Ordering::Acquire) < threads {
        thread::yield_now();
    }
    let t0 = Instant::now();
    p.go.store(true, Ordering::Release);
    let (mut sum, mut ok, mut end) = (0u64, true, t0);
    for h in handles {
        match h.join() {
            Ok((s, o, e)) => {
                sum += s;
                ok &= o;
                end = end.max(e);
            }
            Err(_) => ok = false,
        }
    }
    (end.duration_since(t0).as_secs_f64(), p.total, sum, ok)
}

fn usage() -> ! {
    eprintln!("usage: weft-bench-crossbeam seq|spsc|mpsc|mpmc|select_rx CAP|unbounded MESSAGES [pin1]");
    process::exit(2);
}

fn main() {
    let args: Vec<String> = env::args().collect();
    if args.len() < 4 || args.len() > 5 {
        usage();
    }
    let shape = match args[1].as_str() {
        "seq" => Shape::Seq,
        "spsc" => Shape::Spsc,
        "mpsc" => Shape::Mpsc,
        "mpmc" => Shape::Mpmc,
        "select_rx" => Shape::SelectRx,
        _ => usage(),
    };
    let cap = match args[2].as_str() {
        "unbounded" => None,
        s => Some(s.parse::<usize>().unwrap_or_else(|_| usage())),
    };
    let size = match args[3].parse::<u64>() {
        Ok(n) if n >= 1 => n,
        _ => usage(),
    };
    let pin = match args.get(4).map(String::as_str) {
        None => None,
        Some("pin1") => Some(first_cpu().unwrap_or_else(|| {
            eprintln!("weft-bench-crossbeam: sched_getaffinity failed");
            process::exit(1)
        })),
        Some(_) => usage(),
    };
    if shape == Shape::Seq && cap == Some(0) {
        eprintln!("weft-bench-crossbeam: seq cannot run on a rendezvous channel (one thread)");
        process::exit(2);
    }
    let (_, _, _, warm_ok) = run(shape, cap, size.min(WARMUP_MESSAGES), pin);
    let (secs, msgs, sum, ok) = run(shape, cap, size, pin);
    if !(warm_ok && ok) {
        eprintln!("weft-bench-crossbeam: a channel operation or a pin failed");
        process::exit(1);
    }
    println!("{:.9} {} {}", secs, msgs, sum);
}
