using System;
using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Linq;

namespace RefreshTokenCore.Tests;

/// <summary>
/// Listens to the runtime's thread-pool adjustment events: why the pool changed its thread count.
/// Hill climbing (reasons 0-5) adds and retires threads to explore throughput whatever the work;
/// starvation (6) and cooperative blocking (8) add threads because work items are stuck.
/// </summary>
internal sealed class PoolProbe : EventListener
{
    private readonly ConcurrentQueue<(uint Reason, uint Count)> adjustments = new();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Informational, (EventKeywords)0x10000); // ThreadingKeyword
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName == "ThreadPoolWorkerThreadAdjustmentAdjustment" && e.Payload is { } p && e.PayloadNames is { } names)
        {
            uint Field(string name) => Convert.ToUInt32(p[names.IndexOf(name)]);
            adjustments.Enqueue((Field("Reason"), Field("NewWorkerThreadCount")));
        }
    }

    public override string ToString() => string.Join(", ", adjustments.Select(a => $"{a.Count} (reason {a.Reason})"));
}
