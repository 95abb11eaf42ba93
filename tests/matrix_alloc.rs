//! The delivery matrix's hot path allocates nothing: every node receives every probe of
//! every round, so `Matrix::received` and `parse_probe` run n² times a round and are kept
//! to index arithmetic and borrowed parsing. A binary of its own because it replaces the
//! global allocator with one that counts this thread's allocations (the test harness's
//! other threads allocate as they please).

// A `GlobalAlloc` is an unsafe trait: this wrapper only counts, then calls `System`.
#![allow(unsafe_code)]

use chanwatch::cluster::{Matrix, parse_probe, probe_data};
use chanwatch_core::record::NodeName;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    /// Allocations made by this thread. A `const` thread local with no destructor, so
    /// reaching it from the allocator never allocates itself.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: every call is passed to `System` unchanged; the count is a thread-local `Cell`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc` is `System::alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: as for `alloc`; `ptr` came from this allocator, so from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn received_and_parse_probe_do_not_allocate() {
    let nodes: Vec<NodeName> = ["node-a", "node-b", "node-c"]
        .into_iter()
        .map(NodeName::from)
        .collect();
    let mut matrix = Matrix::new(&nodes, 30, Duration::from_secs(5));
    let t0 = Instant::now();
    // The data as each node's socket would hand it over, made before counting.
    let rounds: Vec<u64> = (0..40)
        .map(|i| matrix.begin_round(t0 + Duration::from_secs(i)))
        .collect();
    let data: Vec<Vec<String>> = rounds
        .iter()
        .map(|&r| nodes.iter().map(|n| probe_data(r, n)).collect())
        .collect();
    for &r in &rounds {
        for from in 0..nodes.len() {
            matrix.published(r, from, t0);
        }
    }

    // The counter works: an allocation made here is seen.
    let before = allocations();
    drop(std::hint::black_box(vec![1u8; 16]));
    assert!(
        allocations() > before,
        "the counting allocator is not in use"
    );

    let before = allocations();
    let mut calls = 0u64;
    let mut parsed = 0u64;
    'outer: loop {
        for per_node in &data {
            for text in per_node {
                for to in 0..nodes.len() {
                    if calls == 10_000 {
                        break 'outer;
                    }
                    // Some calls land in the window, some are old rounds, some duplicates.
                    let Some((round, from)) = parse_probe(text) else {
                        continue;
                    };
                    let Some(from) = matrix.node_index(from) else {
                        continue;
                    };
                    parsed += 1;
                    let now = t0 + Duration::from_millis(calls);
                    matrix.received(round, from, to, now);
                    // Out of range: ignored, still without allocating.
                    matrix.received(round, from, to + 7, now);
                    matrix.received(round + 1_000, from, to, now);
                    calls += 1;
                }
            }
        }
    }
    let made = allocations() - before;
    assert_eq!(parsed, 10_000);
    assert_eq!(made, 0, "{made} allocations in 10 000 received probes");

    // And they were counted: the last 30 rounds are in the window, every cell received.
    matrix.tick(t0 + Duration::from_secs(100));
    let cell = matrix.cell(0, 2);
    assert_eq!((cell.sent, cell.received), (30, 30));
}
