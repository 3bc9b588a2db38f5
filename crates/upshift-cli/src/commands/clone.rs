//! `upshift clone`: a test instance from production's latest verified backup.

use crate::cli::CloneArgs;
use crate::output::outln;
use crate::output::{self, progress::Progress};
use upshift::engine::instance::Instance;
use upshift::operations::clone::{self, CloneRequest};
use upshift::operations::output::Output;
use upshift::Result;

pub fn run(inst: &Instance, args: &CloneArgs, json: bool) -> Result<i32> {
    let _lock = inst.lock("clone")?;
    let state = inst.state()?;
    let request = CloneRequest {
        name: args.name.clone(),
        dir: args.dir.clone(),
        fresh_backup: args.fresh_backup,
    };
    let cloned = clone::create(inst, &state, &request, &Progress::new(json))?;
    if json {
        output::json_line(&Output::Clone(cloned));
    } else {
        outln!(
            "clone {} of {} runs {} on port {}, from database backup #{} ({})",
            cloned.name,
            inst.name(),
            cloned.version,
            cloned.port,
            cloned.db_backup,
            output::ms(cloned.ms)
        );
        outln!("its database: {}", cloned.database);
        outln!("its instance file: {}", cloned.instance_file.display());
        outln!(
            "work on it with: upshift -c {} <command>",
            cloned.instance_file.display()
        );
    }
    Ok(0)
}
