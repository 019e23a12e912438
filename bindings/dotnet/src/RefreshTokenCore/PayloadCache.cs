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
///
/// Both sides are kept as the UTF-8 the library speaks, so that a hit is handed back without a
/// transcode, and looked up by the text's bytes without making a string of them. Entries are
/// filed by a hash of the text's end (randomized per process) and a hit compares the whole
/// text: a hash shared by two texts costs a miss, never a wrong payload.
/// </summary>
internal sealed class PayloadCache
{
    /// <summary>The hash entries are filed by (a parameter so that a test can make every text collide).</summary>
    internal delegate int Hasher(ReadOnlySpan<byte> protectedText);

    private readonly int generationSize;
    private readonly long lifetimeMs;
    private readonly Func<long> nowMs;
    private readonly Hasher hash;
    private volatile Generation current = new();
    private volatile Generation older = new();
    private readonly object turnover = new();

    private sealed record Entry(byte[] ProtectedText, byte[] Payload, long AddedMs);

    /// <summary>One generation and its size (ConcurrentDictionary.Count takes every lock).</summary>
    private sealed class Generation
    {
        internal readonly ConcurrentDictionary<int, Entry> Map = new();
        internal int Count;
    }

    internal PayloadCache(int entries, TimeSpan lifetime, Func<long>? nowMs = null, Hasher? hash = null)
    {
        generationSize = Math.Max(1, entries / 2);
        lifetimeMs = (long)lifetime.TotalMilliseconds;
        this.nowMs = nowMs ?? (() => Environment.TickCount64);
        this.hash = hash ?? Hash;
    }

    /// <summary>The length and the last 64 bytes: a protected text ends in its MAC, as good as
    /// random, and hashing the whole kilobyte was a third of the cache's cost.</summary>
    private static int Hash(ReadOnlySpan<byte> text)
    {
        var h = new HashCode();
        h.Add(text.Length);
        h.AddBytes(text[Math.Max(0, text.Length - 64)..]);
        return h.ToHashCode();
    }

    /// <summary>The payload of <paramref name="protectedText"/>, shared (the caller must not change it).</summary>
    internal bool TryGet(ReadOnlySpan<byte> protectedText, out byte[] payload)
    {
        long now = nowMs();
        int h = hash(protectedText);
        if ((Hit(current, h, protectedText, out Entry? e) || Hit(older, h, protectedText, out e)) && now - e.AddedMs < lifetimeMs)
        {
            payload = e.Payload;
            return true;
        }
        payload = Array.Empty<byte>();
        return false;
    }

    private static bool Hit(Generation g, int h, ReadOnlySpan<byte> text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Entry? e) =>
        g.Map.TryGetValue(h, out e) && e.ProtectedText.AsSpan().SequenceEqual(text);

    /// <summary>Files a payload; both arrays are the cache's from now on.</summary>
    internal void Add(byte[] protectedText, byte[] payload)
    {
        Generation generation = current;
        var entry = new Entry(protectedText, payload, nowMs());
        int h = hash(protectedText);
        if (!generation.Map.TryAdd(h, entry))
        {
            // The same text again, or another with its hash: the newer entry takes the slot.
            generation.Map[h] = entry;
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
