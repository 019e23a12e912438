using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace RefreshTokenCore.Native;

/// <summary>
/// The native asynchronous store callback (<c>rtc_async_store_fn</c>) over an
/// <see cref="IGrantStore"/>: each request starts the store's call and returns; the answer is
/// given when its ValueTask completes (<see cref="Completions"/>), so no thread waits on the
/// database. The operation a request serves (<see cref="PendingOperation"/>) supplies the
/// cancellation token and decides whether a write may still be refused for cancellation.
/// </summary>
internal static unsafe class AsyncStoreBridge
{
    private const uint Get = 0, Store = 1, Remove = 2, GetAll = 3, RemoveAll = 4, Consume = 5, Rotate = 6, RemoveExpired = 7, RemoveConsumed = 8;

    /// <summary>The RTC_STORE_CAN_* bits the store's interfaces offer.</summary>
    internal static uint Capabilities(IGrantStore store) =>
        (store is IConditionalConsumeGrantStore ? 1u : 0u) | (store is IRotatingGrantStore ? 2u : 0u);

    internal static delegate* unmanaged[Cdecl]<nint, RtcStoreRequest*, ulong, void> Callback => &Request;

    private static readonly Completions.Answer<int> Status = (_, s) => (s, 0);
    private static readonly Completions.Answer<ConsumeOutcome> Outcome = (_, o) => ((int)o, 0);
    private static readonly Completions.Answer<long> Count = (_, n) => (0, (ulong)n);
    private static readonly Completions.Answer<int> IntCount = (_, n) => (0, (ulong)n);
    private static readonly Completions.Answer<StoredGrant?> One = (c, g) => (g is null ? 0 : Push(c, g), 0);
    private static readonly Completions.Answer<IReadOnlyList<StoredGrant>> Many = (c, rows) =>
    {
        foreach (StoredGrant g in rows)
        {
            if (Push(c, g) != 0) return (-2, 0);
        }
        return (0, 0);
    };

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void Request(nint ud, RtcStoreRequest* r, ulong completion)
    {
        PendingOperation? op = null;
        try
        {
            op = PendingOperation.Current();
            IGrantStore store = HostObjects.Of(ud).Store!;
            CancellationToken read = op?.ForRead ?? CancellationToken.None;
            switch (r->Op)
            {
                case Get:
                    Completions.When(op, completion, store.GetAsync(Utf8.Read(r->Key) ?? string.Empty, read), One);
                    return;
                case GetAll:
                    Completions.When(op, completion, store.GetAllAsync(GrantRows.ToFilter(r->Filter), read), Many);
                    return;
            }
            // Every other request writes: refused, unmade, when the caller cancelled before any write.
            if (op is not null && !op.BeginWrite())
            {
                NativeMethods.rtc_completion_finish(completion, -1, 0);
                return;
            }
            CancellationToken none = CancellationToken.None;
            switch (r->Op)
            {
                case Store:
                    Completions.When(op, completion, Completions.Zero(store.StoreAsync(GrantRows.ToGrant(r->Row), none)), Status);
                    break;
                case Remove:
                    Completions.When(op, completion, Completions.Zero(store.RemoveAsync(Utf8.Read(r->Key) ?? string.Empty, none)), Status);
                    break;
                case RemoveAll:
                    Completions.When(op, completion, store.RemoveAllAsync(GrantRows.ToFilter(r->Filter), none), Count);
                    break;
                case Consume:
                    Completions.When(op, completion, ((IConditionalConsumeGrantStore)store).TryConsumeAsync(
                        Utf8.Read(r->Key) ?? string.Empty, Replacement(r), none), Outcome);
                    break;
                case Rotate:
                    Completions.When(op, completion, ((IRotatingGrantStore)store).TryRotateAsync(
                        Utf8.Read(r->Key) ?? string.Empty, Replacement(r), GrantRows.ToGrant(r->Successor), none), Outcome);
                    break;
                case RemoveExpired:
                    Completions.When(op, completion, store.RemoveExpiredAsync(RtcTime.To(r->Time), Batch(r), none), IntCount);
                    break;
                case RemoveConsumed:
                    Completions.When(op, completion, store.RemoveConsumedAsync(RtcTime.To(r->Time), Batch(r), none), IntCount);
                    break;
                default:
                    throw new InvalidOperationException($"unknown store request {r->Op}");
            }
        }
        catch (Exception e)
        {
            // Thrown before a task was handed over (a synchronous throw in the store's method):
            // the completion has not been answered yet.
            Completions.Fail(op, completion, e);
        }
    }

    private static StoredGrant? Replacement(RtcStoreRequest* r) => r->Row == null ? null : GrantRows.ToGrant(r->Row);

    private static int Batch(RtcStoreRequest* r) => (int)Math.Min(r->Batch, (nuint)int.MaxValue);

    private static int Push(ulong completion, StoredGrant g) => GrantRows.Push(g, completion, &ToCompletion);

    private static ResultCode ToCompletion(ulong completion, RtcGrantRow* row) => NativeMethods.rtc_completion_push_row(completion, row);
}
