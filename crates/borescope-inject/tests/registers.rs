//! A borrowed thread gets every register back: a C program keeps a value in a vector register
//! (`xmm7`) and checks it in a tight loop; borescope stops it there, calls a function in it that
//! zeroes that register, and lets it go. Only a full floating-point/vector restore keeps the
//! program from noticing. x86-64 only (the instructions are).
#![cfg(target_arch = "x86_64")]

use borescope_inject::ptrace::Seized;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

const PROGRAM: &str = r#"
#include <stdio.h>
__attribute__((noinline)) void clobber(void) { __asm__ volatile("pxor %%xmm7, %%xmm7" ::: "xmm7"); }
int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("ready %p\n", (void *)clobber);
    unsigned long long expected = 0x0123456789abcdefULL, seen;
    __asm__ volatile(
        "movq %[k], %%xmm7\n"
        "1:\n"
        "movq %%xmm7, %%rax\n"
        "cmpq %[k], %%rax\n"
        "je 1b\n"
        "movq %%rax, %[seen]\n"
        : [seen] "=m"(seen) : [k] "r"(expected) : "rax", "xmm7", "cc");
    printf("clobbered %llx\n", seen);
    return 1;
}
"#;

#[test]
fn vector_registers_come_back_after_a_call_that_clobbers_them() {
    let dir = tempfile::tempdir().expect("dir");
    let source = dir.path().join("xmm.c");
    let binary = dir.path().join("xmm");
    std::fs::write(&source, PROGRAM).expect("write");
    let built = Command::new("cc").args(["-O1", "-o"]).arg(&binary).arg(&source).status();
    assert!(built.is_ok_and(|s| s.success()), "cc failed (scripts/test-setup.sh installs gcc)");
    let mut child = Command::new(&binary).stdout(Stdio::piped()).spawn().expect("start");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready");
    let clobber = u64::from_str_radix(line.trim().trim_start_matches("ready 0x"), 16).expect("address");
    let pid = child.id();
    let entry = borescope_inject::symbols::entry_point(pid).expect("auxv").expect("entry");
    std::thread::sleep(Duration::from_millis(50)); // inside the checking loop by now
    for _ in 0..20 {
        let mut thread = Seized::stop(pid, entry, Duration::from_secs(1)).expect("stop");
        thread.call(clobber, &[], Duration::from_secs(2)).expect("call");
        thread.release().expect("release");
    }
    std::thread::sleep(Duration::from_millis(300));
    let exited = child.try_wait().expect("wait");
    let _ = child.kill();
    let _ = child.wait();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    assert!(exited.is_none(), "the program noticed: {rest}");
}
