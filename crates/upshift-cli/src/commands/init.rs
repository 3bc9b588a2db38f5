//! `upshift init`: write a commented instance file to start from.

use crate::cli::{InitArgs, InitProduct};
use crate::output;
use crate::output::outln;
use upshift::config::presets::{self, Product};
use upshift::operations::output::{Initialized, Output};
use upshift::Result;

pub fn run(args: &InitArgs, json: bool) -> Result<i32> {
    let (product, name) = match args.product {
        InitProduct::Octopus => (Product::Octopus, "octopus"),
        InitProduct::Generic => (Product::Generic, "generic"),
        InitProduct::Sample => (Product::Sample, "sample"),
    };
    presets::write(product, &args.out, args.force)?;
    if json {
        output::json_line(&Output::Init(Initialized {
            file: args.out.clone(),
            product: name.into(),
        }));
    } else {
        outln!(
            "wrote {}: fill in the values marked CHANGE, then run `upshift -c {} plan`",
            args.out.display(),
            args.out.display()
        );
    }
    Ok(0)
}
