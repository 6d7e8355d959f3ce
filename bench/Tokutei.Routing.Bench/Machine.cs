using System.Diagnostics;

namespace Tokutei.Routing.Bench;

/// <summary>What the figures were measured on, for the report.</summary>
internal sealed record Machine(
    string Date,
    string Cpu,
    int Cores,
    long MemoryMb,
    string Kernel,
    string Dotnet,
    string H2Load,
    string Redis,
    string Commit,
    bool Dirty,
    double FsyncP50Us,
    double FsyncP99Us)
{
    public static Machine Describe(string repo, string scratch)
    {
        var (fsync50, fsync99) = Fsync(scratch);
        var now = TimeProvider.System.GetUtcNow();
        return new Machine(
            now.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture),
            ProcFs.CpuModel(),
            Environment.ProcessorCount,
            ProcFs.MemTotalMb(),
            Run("uname", "-sr"),
            Environment.Version.ToString(),
            Tokutei.Routing.Bench.H2Load.Version(),
            RedisServer.Version(),
            Run("git", "-C", repo, "rev-parse", "--short", "HEAD"),
            Run("git", "-C", repo, "status", "--porcelain", "--", "src").Length > 0,
            fsync50,
            fsync99);
    }

    /// <summary>What one fsync of a small append costs on the disk that holds the bench's Redis folders (200 tries).</summary>
    private static (double P50, double P99) Fsync(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "fsync-probe");
        var block = new byte[6000];
        var times = new List<double>();
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None))
        {
            for (var i = 0; i < 200; i++)
            {
                file.Write(block);
                var started = Stopwatch.GetTimestamp();
                file.Flush(flushToDisk: true);
                times.Add(Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }

        File.Delete(path);
        times.Sort();
        return (Math.Round(times[times.Count / 2]), Math.Round(times[(int)(times.Count * 0.99)]));
    }

    public static string Run(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        try
        {
            using var process = Process.Start(start)!;
            var text = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return text;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unavailable";
        }
    }
}
