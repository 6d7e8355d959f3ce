using Tokutei.Routing.Core.Reference;
using Tokutei.Routing.Server.Hosting;

namespace Tokutei.Routing.Server.Redis;

/// <summary>
/// <c>Tokutei.Routing.Server publish-reference [FOLDER]</c>: validates a reference data set (the compiled-in one
/// when no folder is given) and publishes it to the Redis of <c>ConnectionStrings:Redis</c>; every replica picks
/// it up within seconds.
/// </summary>
internal static class PublishReferenceCommand
{
    public const string Verb = "publish-reference";

    public static async Task<int> RunAsync(string[] args)
    {
        var folder = args.Skip(1).FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal));
        var configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddCommandLine(args.Skip(1).Where(a => a != folder).ToArray())
            .Build();
        if (!configuration.IsDurableMode())
        {
            await Console.Error.WriteLineAsync($"{Verb}: set ConnectionStrings__Redis to the Redis to publish to.").ConfigureAwait(false);
            return 2;
        }

        try
        {
            var files = folder is null ? ReferenceDataLoader.EmbeddedFiles() : ReferenceDataLoader.FilesFromDirectory(folder);
            var options = new RedisOptions { Password = configuration["Redis:Password"] ?? string.Empty };
            using var redis = StorageExtensions.Connect(configuration, options);
            if (!redis.IsConnected)
            {
                await Console.Error.WriteLineAsync($"{Verb}: Redis is unreachable.").ConfigureAwait(false);
                return 5;
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var version = await new ReferencePublisher(redis).PublishAsync(files, timeout.Token).ConfigureAwait(false);
            Console.WriteLine($"published reference data {version}");
            return 0;
        }
        catch (ReferenceDataException invalid)
        {
            await Console.Error.WriteLineAsync($"{Verb}: refused, the data is invalid:").ConfigureAwait(false);
            foreach (var problem in invalid.Problems)
            {
                await Console.Error.WriteLineAsync("  " + problem).ConfigureAwait(false);
            }

            return 3;
        }
    }
}
