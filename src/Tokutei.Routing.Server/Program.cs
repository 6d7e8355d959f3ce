using Tokutei.Routing.Server;

return await RoutingApp.RunAsync(args).ConfigureAwait(false);
