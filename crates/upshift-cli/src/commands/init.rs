//! `upshift init`: write a commented instance file to start from.

use crate::cli::{InitArgs, InitProduct};
use crate::output::outln;
use upshift::config::presets::{self, Product};
use upshift::Result;

pub fn run(args: &InitArgs) -> Result<i32> {
    let product = match args.product {
        InitProduct::Octopus => Product::Octopus,
        InitProduct::Generic => Product::Generic,
        InitProduct::Sample => Product::Sample,
    };
    presets::write(product, &args.out, args.force)?;
    outln!(
        "wrote {}: fill in the values marked CHANGE, then run `upshift -c {} plan`",
        args.out.display(),
        args.out.display()
    );
    Ok(0)
}
