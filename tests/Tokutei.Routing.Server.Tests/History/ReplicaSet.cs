using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Tokutei.Routing.Server.Tests.Durable;
using Tokutei.Routing.V1;

namespace Tokutei.Routing.Server.Tests.History;

/// <summary>
/// Server replicas as separate processes (<see cref="ServerProcess"/>), one per slot. A slot's process can be
/// killed with SIGKILL and replaced by a new one with the same settings (its intake port stays the slot's); clients
/// ask for a slot's current client and get none while it is down or not yet ready.
/// </summary>
internal sealed class ReplicaSet : IAsyncDisposable
{
    private static readonly TimeSpan StartWithin = TimeSpan.FromSeconds(45);
    private readonly Func<int, string[]> _settings;
    private readonly Slot[] _slots;
    private readonly ConcurrentDictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ServerProcess> _retired = new();

    private ReplicaSet(int count, Func<int, string[]> settings)
    {
        _settings = settings;
        _slots = [.. Enumerable.Range(0, count).Select(_ => new Slot())];
    }

    public int Count => _slots.Length;

    /// <summary>Starts every replica and waits until each is ready (bounded).</summary>
    public static async Task<ReplicaSet> StartAsync(int count, Func<int, string[]> settings)
    {
        var set = new ReplicaSet(count, settings);
        await Task.WhenAll(Enumerable.Range(0, count).Select(set.RestartAsync));
        return set;
    }

    /// <summary>Slots whose process is up and answered ready since it started.</summary>
    public IReadOnlyList<int> Live() => [.. Enumerable.Range(0, _slots.Length).Where(i => _slots[i].Live is not null)];

    public RoutingService.RoutingServiceClient? Client(int slot) =>
        _slots[slot].Live is { } process ? new RoutingService.RoutingServiceClient(Channel(process.Address)) : null;

    /// <summary>SIGKILL, no warning; the slot is down until <see cref="RestartAsync"/>.</summary>
    public async Task KillAsync(int slot)
    {
        var process = _slots[slot].Process;
        _slots[slot].Live = null;
        if (process is null || process.HasExited)
        {
            return;
        }

        process.Kill();
        using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await process.WaitForExitAsync(bounded.Token);
    }

    /// <summary>Starts a new process in the slot (killing any left) and waits until it is ready.</summary>
    public async Task RestartAsync(int slot)
    {
        var state = _slots[slot];
        await state.Gate.WaitAsync();
        try
        {
            if (state.Process is { } old)
            {
                state.Live = null;
                if (!old.HasExited)
                {
                    old.Kill();
                }

                _retired.Enqueue(old);
            }

            var process = ServerProcess.Start(_settings(slot));
            state.Process = process;
            await WaitReadyAsync(slot, process);
            state.Live = process;
            state.Starts++;
        }
        finally
        {
            state.Gate.Release();
        }
    }

    /// <summary>
    /// Restarts every slot that is down; returns the slots whose process had exited on its own (not killed by the
    /// nemesis), which is a defect of the server.
    /// </summary>
    public async Task<IReadOnlyList<(int Slot, int ExitCode)>> EnsureAllUpAsync()
    {
        var crashed = Enumerable.Range(0, _slots.Length).Where(i => _slots[i].Live is { HasExited: true }).Select(i => (i, _slots[i].Live!.ExitCode)).ToList();
        await Task.WhenAll(Enumerable.Range(0, _slots.Length).Where(i => _slots[i].Live is not { HasExited: false }).Select(RestartAsync));
        return crashed;
    }

    /// <summary>Processes started per slot, the first included.</summary>
    public IReadOnlyList<int> Starts => [.. _slots.Select(s => s.Starts)];

    /// <summary>Every line every process of the run wrote, by slot and process: the server's logs carry ids, no personal data.</summary>
    public string Logs() => string.Join(
        "\n",
        _retired.Concat(_slots.Select(s => s.Process).OfType<ServerProcess>()).Select(p => $"==== process {p.Id} on {p.Address}\n{p.Log}"));

    public ValueTask DisposeAsync()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }

        foreach (var process in _retired.Concat(_slots.Select(s => s.Process).OfType<ServerProcess>()))
        {
            process.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private GrpcChannel Channel(string address) => _channels.GetOrAdd(address, a => GrpcChannel.ForAddress(a));

    private async Task WaitReadyAsync(int slot, ServerProcess process)
    {
        var health = new Health.HealthClient(Channel(process.Address));
        var clock = TimeProvider.System;
        var started = clock.GetTimestamp();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"replica {slot} exited with {process.ExitCode} while starting:\n{process.Log}");
            }

            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest { Service = "readiness" }, deadline: clock.GetUtcNow().UtcDateTime.AddSeconds(2));
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (RpcException)
            {
                // Not listening yet.
            }

            if (clock.GetElapsedTime(started) > StartWithin)
            {
                throw new InvalidOperationException($"replica {slot} not ready within {StartWithin.TotalSeconds} s:\n{process.Log}");
            }

            await Task.Delay(100);
        }
    }

    private sealed class Slot
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public ServerProcess? Process { get; set; }

        /// <summary>The process clients may use: started, ready once, not killed by the nemesis.</summary>
        public volatile ServerProcess? Live;

        public int Starts { get; set; }
    }
}
