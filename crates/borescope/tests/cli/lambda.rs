//! `borescope lambda` help: every subcommand's text.

use crate::ctx;
use insta::assert_snapshot;

#[test]
fn lambda_help() {
    let ctx = ctx();
    for args in [
        vec!["lambda", "--help"],
        vec!["lambda", "attach", "--help"],
        vec!["lambda", "detach", "--help"],
        vec!["lambda", "status", "--help"],
        vec!["lambda", "invoke", "--help"],
    ] {
        let run = ctx.run(&args);
        run.expect_code(0);
        assert_snapshot!(format!("{}_help", args[..args.len() - 1].join("_")), run.snapshot());
    }
}
