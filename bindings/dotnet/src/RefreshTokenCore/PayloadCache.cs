using System;
using System.Collections.Concurrent;

namespace RefreshTokenCore;

/// <summary>
/// Payloads this process protected or unprotected, by their protected text: a validation of a
/// row whose payload is here skips Data Protection's decryption (a third of a refresh through
/// the Duende adapter, and half of stock Duende's validation). The protected text is
/// authenticated content, so one text always unprotects to the same payload: nothing here can be
/// stale, only old. Bounded in entries (two generations: when the newer one is full it becomes
/// the older and the older is dropped, so the hot entries survive) and in age (an entry older
/// than its lifetime is a miss, so a key the ring has revoked stops being honoured soon after).
/// Holds payloads (subject and access-token claims), never a handle.
/// </summary>
internal sealed class PayloadCache
{
    private readonly int generationSize;
    private readonly long lifetimeMs;
    private readonly Func<long> nowMs;
    private volatile Generation current = new();
    private volatile Generation older = new();
    private readonly object turnover = new();

    private sealed record Entry(string Payload, long AddedMs);

    /// <summary>One generation and its size (ConcurrentDictionary.Count takes every lock).</summary>
    private sealed class Generation
    {
        internal readonly ConcurrentDictionary<string, Entry> Map = new(StringComparer.Ordinal);
        internal int Count;
    }

    internal PayloadCache(int entries, TimeSpan lifetime, Func<long>? nowMs = null)
    {
        generationSize = Math.Max(1, entries / 2);
        lifetimeMs = (long)lifetime.TotalMilliseconds;
        this.nowMs = nowMs ?? (() => Environment.TickCount64);
    }

    internal bool TryGet(string protectedText, out string payload)
    {
        long now = nowMs();
        if ((current.Map.TryGetValue(protectedText, out Entry? e) || older.Map.TryGetValue(protectedText, out e)) && now - e.AddedMs < lifetimeMs)
        {
            payload = e.Payload;
            return true;
        }
        payload = "";
        return false;
    }

    internal void Add(string protectedText, string payload)
    {
        Generation generation = current;
        var entry = new Entry(payload, nowMs());
        if (!generation.Map.TryAdd(protectedText, entry))
        {
            generation.Map[protectedText] = entry;
            return;
        }
        if (System.Threading.Interlocked.Increment(ref generation.Count) >= generationSize)
        {
            lock (turnover)
            {
                if (ReferenceEquals(generation, current))
                {
                    older = current;
                    current = new Generation();
                }
            }
        }
    }

    internal int Count => current.Map.Count + older.Map.Count;
}
