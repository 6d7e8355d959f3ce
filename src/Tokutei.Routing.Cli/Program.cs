using Tokutei.Routing.Cli;
using Tokutei.Routing.Cli.Commands;

Console.OutputEncoding = System.Text.Encoding.UTF8;
return await CliApp.RunAsync(args, new Streams(Console.In, Console.Out, Console.Error, !Console.IsInputRedirected, !Console.IsErrorRedirected)).ConfigureAwait(false);
