//! `borescope pods`: Kubernetes pods and the Python processes in their containers.

use crate::failure::Failure;
use crate::{printer, settings};
use borescope_cli::{Cli, PodsArgs};
use borescope_kube::pods::{list, PodSelection};
use borescope_kube::Cluster;
use std::process::ExitCode;

pub fn run(cli: &Cli, args: &PodsArgs) -> Result<ExitCode, Failure> {
    let interval = settings::seconds(args.interval, "--interval")?;
    let selection = match (&args.service, &args.selector) {
        (Some(service), _) => PodSelection::Service(service.clone()),
        (None, Some(labels)) => PodSelection::Labels(labels.clone()),
        (None, None) => PodSelection::All,
    };
    let runtime = super::runtime()?;
    let pods = runtime.block_on(async {
        let cluster = Cluster::connect(None, args.kube.context.as_deref()).await?;
        let namespace = (!args.all_namespaces).then(|| cluster.namespace_or_default(args.kube.namespace.as_deref()));
        list(&cluster, namespace.as_deref(), &selection, interval).await
    })?;
    if cli.json {
        printer::json(&pods);
    } else {
        printer::text(&borescope_render::render_pods(&pods));
    }
    Ok(ExitCode::SUCCESS)
}
