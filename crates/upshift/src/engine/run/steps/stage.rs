//! Stage: put the new release beside the old one, outside the window.
//!
//! Archive installs download (resumable, cached), verify the SHA-256 and the
//! signature, and unpack into `versions/<v>`; command installs run the
//! install command (after the same download and verification when it names
//! `{artifact}`). What is unpacked or handed on is the private copy that was
//! verified, never the cached file (see `drivers/release/artifact.rs`); the
//! copy is removed when staging ends. Every node stages at once; a remote
//! node receives the verified archive over its ssh connection and checks its
//! SHA-256 again before unpacking. Already staged everywhere: nothing to do.

use super::def::{Step, Undo, Words};
use crate::drivers::node::Node;
use crate::engine::run::nodes::on_nodes;
use crate::engine::run::{Ctx, Done};
use crate::engine::step::StepKind;
use crate::engine::step_outputs::Staged;
use crate::support::error::{Error, Result};
use crate::support::failpoint;

/// The staged release stays when a run is rolled back: the old version
/// does not see it, and a later attempt finds it staged.
pub const STAGE: Step = Step {
    kind: StepKind::Stage,
    in_window: false,
    words: Words::ByKind {
        upgrade: "download, verify and unpack the new release beside the old one",
        rollback: "make sure the earlier version is unpacked (download and verify it again if not)",
    },
    apply,
    undo: Undo::Kept,
};

fn apply(ctx: &mut Ctx) -> Result<Done> {
    let inst = ctx.inst;
    let to = ctx.bringing().clone();
    let nodes = inst.all_nodes();
    let staged = on_nodes(ctx, &nodes, |node| node.is_staged(&to))?;
    let missing: Vec<&dyn Node> = nodes
        .iter()
        .zip(&staged)
        .filter(|(_, staged)| !**staged)
        .map(|(node, _)| *node)
        .collect();
    let dir = inst.install.version_dir(&to);
    if missing.is_empty() {
        return Ok(
            Done::skipped(format!("{to} already staged in {}", dir.display()))
                .with_output(Staged { dir }),
        );
    }
    let artifact = match inst.install.needs_artifact() {
        true => {
            let release =
                ctx.plan.release.as_ref().ok_or_else(|| {
                    Error::failed(format!("release {to} is not known to the plan"))
                })?;
            let progress =
                |done: u64, total: Option<u64>| ctx.progress(StepKind::Stage, done, total);
            let artifact = inst.source.fetch(release, &progress)?;
            // The SHA-256 a remote node checks the archive against once
            // received: the verified one, or this verified file's own.
            let sha256 = match &release.sha256 {
                Some(sha) => sha.clone(),
                None => crate::support::fsutil::sha256_file(artifact.path())?,
            };
            failpoint::hit("stage-unpack")?;
            Some((artifact, sha256))
        }
        false => None,
    };
    let artifact = artifact
        .as_ref()
        .map(|(artifact, sha)| (artifact.path(), sha.as_str()));
    on_nodes(ctx, &missing, |node| node.stage(&to, artifact))?;
    let place = match inst.is_cluster() {
        true => format!("on {} node(s)", missing.len()),
        false => format!("in {}", dir.display()),
    };
    Ok(Done::detail(format!("{to} verified and staged {place}")).with_output(Staged { dir }))
}
