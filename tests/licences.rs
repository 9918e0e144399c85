//! Licensing: every shipped crate is under a permissive licence and THIRD-PARTY-NOTICES.md is
//! current (`scripts/licences.py --check`), and the policy really refuses copyleft.

use std::process::Command;

fn python(args: &[&str]) -> std::process::Output {
    Command::new("python3")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("python3 runs (the README's set-up needs it too)")
}

#[test]
fn shipped_crates_are_permissive_and_the_notice_is_current() {
    let out = python(&["scripts/licences.py", "--check"]);
    assert!(
        out.status.success(),
        "licence check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_policy_refuses_copyleft_without_a_permissive_alternative() {
    let probe = r#"
import sys
sys.path.insert(0, "scripts")
from licences import permitted
cases = {
    "MIT OR Apache-2.0": True,
    "Apache-2.0 / MIT": True,
    "(MIT OR Apache-2.0) AND Unicode-3.0": True,
    "MIT OR Apache-2.0 OR LGPL-2.1-or-later": True,
    "Apache-2.0 WITH LLVM-exception": True,
    "GPL-3.0-only": False,
    "MPL-2.0": False,
    "MIT AND LGPL-2.1-only": False,
    "LGPL-2.1 OR (MIT AND GPL-2.0)": False,
    "Some-Unknown-1.0": False,
}
wrong = [e for e, ok in cases.items() if permitted(e) != ok]
print(wrong)
sys.exit(1 if wrong else 0)
"#;
    let out = python(&["-c", probe]);
    assert!(
        out.status.success(),
        "policy misjudged: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The fuzz crate's lock file (shipped for reproducible fuzzing) matches the dependencies: a
/// stale one would make `cargo fuzz` rewrite it, or list crates fstop no longer uses.
#[test]
fn the_fuzz_lock_file_is_current() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "fuzz/Cargo.lock is stale (run `cargo update --workspace` in fuzz/):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
