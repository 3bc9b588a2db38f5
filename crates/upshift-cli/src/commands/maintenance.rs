//! `upshift maintenance on|off|status`.

use crate::cli::MaintenanceAction;
use crate::output;
use crate::output::outln;
use upshift::engine::instance::Instance;
use upshift::operations::output::{Maintenance, Output};
use upshift::Result;

pub fn run(inst: &Instance, action: MaintenanceAction, json: bool) -> Result<i32> {
    let maintenance = &inst.maintenance;
    let on = match action {
        MaintenanceAction::On | MaintenanceAction::Off => {
            let _lock = inst.lock("maintenance")?;
            let on = matches!(action, MaintenanceAction::On);
            maintenance.set(on)?;
            Some(on)
        }
        MaintenanceAction::Status => maintenance.status()?,
    };
    if json {
        output::json_line(&Output::Maintenance(Maintenance {
            on,
            driver: maintenance.describe(),
        }));
        return Ok(0);
    }
    match on {
        Some(true) => outln!("maintenance on"),
        Some(false) => outln!("maintenance off"),
        None => outln!("maintenance unknown ({})", maintenance.describe()),
    }
    Ok(0)
}
