//! Fifty attach/detach cycles on a Python 3.11 process under load (a CPU-bound main thread, a
//! worker allocating and freeing 1 MB in a loop): it keeps running, and neither its resident
//! memory nor its mappings grow with the cycles.
//!
//! Each cycle runs two jobs (start debugpy, stop it), so two ptrace stops, two remote `mmap`s of
//! one 4 KB page and two `munmap`s, a shipped debugpy imported and unloaded. The measures are
//! taken after the first cycle, once the program has imported borescope's and debugpy's code
//! once and its allocators have grown to fit them; what the 49 later cycles add is compared:
//! * address space (`VmSize`): a page left mapped per job adds 49 × 2 × 4 KB = 392 KB; the bound
//!   is 256 KB. A thread stack or malloc arena the first cycle created is reused, not re-made.
//! * resident memory (`VmRSS`): a debugpy left loaded per cycle adds several MB each (its
//!   modules alone are ~20 MB of objects), a leaked page 8 KB; the bound, 2 MB, is above the
//!   allocator's own drift and far below one leaked debugpy.
//!
//! The test runs first in a nextest run (`.config/nextest.toml`), so its minute overlaps the
//! rest of the suite instead of ending it.

use super::{tracer, Py};
use crate::{ctx, fixture, ready};

const CYCLES: usize = 50;

#[test]
fn fifty_attach_detach_cycles_under_load_leave_memory_flat() {
    let ctx = ctx();
    fixture(&ctx, "busy.py");
    let target = Py::V311.start(&ctx, &["busy.py"]);
    ready(&target);
    let pid = target.pid.to_string();
    let started = std::time::Instant::now();
    let mut first = None;
    for cycle in 1..=CYCLES {
        let session = format!("s{cycle}");
        ctx.run(["attach", &pid, "--session", &session]).expect_code(0).stdout_has("attached to pid");
        ctx.run(["stop", "--session", &session]).expect_code(0).stdout_has("detached");
        assert!(target.is_running(), "the program died in cycle {cycle}:\n{}", target.output());
        if cycle == 1 {
            first = Some((target.status_kb("VmRSS"), target.status_kb("VmSize")));
        }
    }
    let (rss_first, size_first) = first.expect("the first cycle's measures");
    let (rss_last, size_last) = (target.status_kb("VmRSS"), target.status_kb("VmSize"));
    eprintln!(
        "{CYCLES} cycles in {:.1}s; VmRSS {rss_first} -> {rss_last} kB, VmSize {size_first} -> {size_last} kB",
        started.elapsed().as_secs_f64()
    );
    assert!(
        size_last <= size_first + 256,
        "the address space grew by {} kB over {} cycles (from {size_first} kB to {size_last} kB): pages left mapped",
        size_last - size_first,
        CYCLES - 1
    );
    assert!(
        rss_last <= rss_first + 2048,
        "resident memory grew by {} kB over {} cycles (from {rss_first} kB to {rss_last} kB)",
        rss_last - rss_first,
        CYCLES - 1
    );
    assert_eq!(tracer(target.pid), 0);
    // Still spinning, still answering.
    ctx.run(["exec", &pid, "-c", "import __main__; print(__main__.spin(4))"]).expect_code(0).stdout_has("14");
}
