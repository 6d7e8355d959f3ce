namespace Tokutei.Routing.Cli.Tests.Infrastructure;

/// <summary>Paths of the repository the tests run from: the contract, the corpus, buf and the built CLI.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Protos => Path.Combine(Root, "protos");

    public static string Examples => Path.Combine(Protos, "examples");

    public static string Baseline => Path.Combine(Protos, "baseline", "v1.binpb");

    /// <summary>buf as pinned in package.json (`make tools`).</summary>
    public static string Buf => Require(Path.Combine(Root, "node_modules", ".bin", "buf"), "run `make tools` (npm ci) first");

    /// <summary>The Google protos the contract imports, linked by `make proto-deps`.</summary>
    public static string GoogleProtos => Require(Path.Combine(Protos, ".deps", "googleapis", "google", "type", "date.proto"), "run `make proto-deps` first");

    /// <summary>The CLI built in the same configuration and framework as this test assembly (bin/CONFIG/TFM/).</summary>
    public static string CliDll
    {
        get
        {
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = framework.Parent?.Name ?? "Release";
            return Require(Path.Combine(Root, "src", "Tokutei.Routing.Cli", "bin", configuration, framework.Name, "tokutei.dll"), "build the solution first");
        }
    }

    private static string Require(string path, string hint) =>
        File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing: {hint}.");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Tokutei.Routing.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Tokutei.Routing.sln above {AppContext.BaseDirectory}.");
    }
}
