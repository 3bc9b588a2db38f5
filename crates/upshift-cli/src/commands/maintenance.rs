//! `upshift maintenance on|off|status`.

use crate::cli::MaintenanceAction;
use crate::output::outln;
use upshift::engine::instance::Instance;
use upshift::Result;

pub fn run(inst: &Instance, action: MaintenanceAction) -> Result<i32> {
    let maintenance = &inst.maintenance;
    match action {
        MaintenanceAction::On | MaintenanceAction::Off => {
            let _lock = inst.lock("maintenance")?;
            let on = matches!(action, MaintenanceAction::On);
            maintenance.set(on)?;
            outln!("maintenance {}", if on { "on" } else { "off" });
        }
        MaintenanceAction::Status => match maintenance.status()? {
            Some(true) => outln!("maintenance on"),
            Some(false) => outln!("maintenance off"),
            None => outln!("maintenance unknown ({})", maintenance.describe()),
        },
    }
    Ok(0)
}
