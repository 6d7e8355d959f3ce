namespace Tokutei.Routing.Bench;

/// <summary>Latency percentiles of one window, in milliseconds.</summary>
internal sealed record Latency(double Mean, double P50, double P90, double P99, double P999, double Max, long Count)
{
    public static readonly Latency None = new(0, 0, 0, 0, 0, 0, 0);

    /// <summary>From latencies in microseconds (the array is sorted in place).</summary>
    public static Latency FromMicros(int[] micros)
    {
        if (micros.Length == 0)
        {
            return None;
        }

        Array.Sort(micros);
        double At(double q) => micros[Math.Min(micros.Length - 1, (int)Math.Ceiling(q * micros.Length) - 1)] / 1000.0;
        return new Latency(micros.Average() / 1000.0, At(0.50), At(0.90), At(0.99), At(0.999), micros[^1] / 1000.0, micros.Length);
    }
}

internal static class Stats
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static double Round(double value, int digits) => double.IsFinite(value) ? Math.Round(value, digits) : value;
}
