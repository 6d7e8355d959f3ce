using Tokutei.Routing.Server;

await RoutingApp.Build(args).RunAsync().ConfigureAwait(false);
