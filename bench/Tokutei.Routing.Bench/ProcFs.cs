using System.Globalization;

namespace Tokutei.Routing.Bench;

/// <summary>The CPU counters of the whole machine (/proc/stat), in clock ticks.</summary>
internal readonly record struct SystemCpu(long User, long Nice, long System, long Idle, long IoWait, long Irq, long SoftIrq, long Steal)
{
    /// <summary>
    /// Time the CPUs were busy, steal aside. Interrupt time is included: without IRQ time accounting (as on this
    /// kernel) the processes' own utime+stime already contain the interrupts served while they ran.
    /// </summary>
    public long ProcessTime => User + Nice + System + Irq + SoftIrq;
}

/// <summary>A snapshot of the counters that a measurement window compares.</summary>
internal sealed record CpuSnapshot(long Timestamp, SystemCpu System, IReadOnlyDictionary<int, long> Processes, long Self, long ReapedChildren);

/// <summary>
/// Reads Linux's /proc: CPU ticks of the machine and of processes, and memory high-water marks. Ticks are
/// USER_HZ (100 per second on Linux; checked at start with getconf).
/// </summary>
internal static class ProcFs
{
    public const double TicksPerSecond = 100;

    public static SystemCpu ReadSystem()
    {
        using var reader = new StreamReader("/proc/stat");
        var line = reader.ReadLine() ?? throw new InvalidOperationException("/proc/stat is empty");
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long F(int i) => i < f.Length ? long.Parse(f[i], CultureInfo.InvariantCulture) : 0;
        return new SystemCpu(F(1), F(2), F(3), F(4), F(5), F(6), F(7), F(8));
    }

    /// <summary>utime+stime of a process (all its threads), and cutime+cstime (children it has waited for); 0 once gone.</summary>
    public static (long Own, long Children) ReadProcess(string pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return (0, 0);
        }
        catch (UnauthorizedAccessException)
        {
            return (0, 0);
        }

        // The command name (field 2) may hold spaces; the numbers start after its closing parenthesis.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        long F(int field) => long.Parse(fields[field - 3], CultureInfo.InvariantCulture);
        return (F(14) + F(15), F(16) + F(17));
    }

    public static CpuSnapshot Snapshot(IEnumerable<int> pids)
    {
        var processes = pids.Distinct().ToDictionary(p => p, p => ReadProcess(p.ToString(CultureInfo.InvariantCulture)).Own);
        var self = ReadProcess("self");
        return new CpuSnapshot(System.Diagnostics.Stopwatch.GetTimestamp(), ReadSystem(), processes, self.Own, self.Children);
    }

    /// <summary>A line of /proc/PID/status in kB (VmHWM: peak resident set; VmRSS: resident now); 0 when unreadable.</summary>
    public static long StatusKb(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    var value = line[(field.Length + 1)..].Trim().Split(' ')[0];
                    return long.Parse(value, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            // The process is gone.
        }

        return 0;
    }

    public static string CpuModel()
    {
        var line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
        return line is null ? "unknown" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    public static long MemTotalMb()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}

/// <summary>CPU used between two snapshots: by each tracked process, by the driver and the children it reaped, and by everything else.</summary>
internal sealed class Usage
{
    private readonly CpuSnapshot _before;
    private readonly CpuSnapshot _after;

    private Usage(CpuSnapshot before, CpuSnapshot after, IEnumerable<int> pids)
    {
        _before = before;
        _after = after;
        Seconds = System.Diagnostics.Stopwatch.GetElapsedTime(before.Timestamp, after.Timestamp).TotalSeconds;
        SelfTicks = after.Self - before.Self;
        ReapedChildrenTicks = after.ReapedChildren - before.ReapedChildren;
        var ours = pids.Sum(Ticks) + SelfTicks + ReapedChildrenTicks;
        OtherCores = Cores(after.System.ProcessTime - before.System.ProcessTime - ours);
        StealCores = Cores(after.System.Steal - before.System.Steal);
        InterruptCores = Cores(after.System.Irq + after.System.SoftIrq - before.System.Irq - before.System.SoftIrq);
    }

    public double Seconds { get; }

    public long SelfTicks { get; }

    public long ReapedChildrenTicks { get; }

    /// <summary>Cores used by processes that are not ours (other sessions on the machine included).</summary>
    public double OtherCores { get; }

    public double StealCores { get; }

    public double InterruptCores { get; }

    public static Usage Between(CpuSnapshot before, CpuSnapshot after, IEnumerable<int> pids) => new(before, after, pids);

    public long Ticks(int pid) =>
        _after.Processes.TryGetValue(pid, out var a) && _before.Processes.TryGetValue(pid, out var b) ? a - b : 0;

    public double Cores(long ticks) => Seconds > 0 ? ticks / ProcFs.TicksPerSecond / Seconds : 0;
}
