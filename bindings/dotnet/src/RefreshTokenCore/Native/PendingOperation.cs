using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace RefreshTokenCore.Native;

/// <summary>Reads what a successful operation produced (valid only during the done callback).</summary>
internal unsafe delegate T OutputsReader<T>(RtcOutputs* outputs);

/// <summary>
/// One native operation in flight (an <c>rtc_service_*_begin</c> call): its user data is a
/// GCHandle to this object, which the library hands back to the done callback and, through
/// <c>rtc_operation_current</c>, to every callback made for it. So each store request and hook
/// knows the caller's cancellation token, whether a write has started, and where to leave a
/// host exception, whichever thread it runs on.
/// </summary>
/// <remarks>
/// Cancellation: reads and hooks get the caller's token until the first write; a write asked for
/// after cancellation is not made (the operation ends with nothing changed and the task is
/// cancelled); once a write has started every later call gets <see cref="CancellationToken.None"/>
/// and the operation completes, so a rotation is never cut in half.
/// </remarks>
internal abstract unsafe class PendingOperation
{
    private GCHandle handle;
    private int writeStarted;
    private int cancelled;
    private Exception? hostError;

    protected PendingOperation(CancellationToken cancellation)
    {
        Cancellation = cancellation;
        handle = GCHandle.Alloc(this);
    }

    public CancellationToken Cancellation { get; }

    public nint UserData => GCHandle.ToIntPtr(handle);

    protected bool WasCancelled => Volatile.Read(ref cancelled) != 0;

    protected Exception? HostError => Volatile.Read(ref hostError);

    /// <summary>The operation this thread is doing a callback for, or null outside one.</summary>
    public static PendingOperation? Current()
    {
        nint ud = NativeMethods.rtc_operation_current();
        return ud == 0 ? null : GCHandle.FromIntPtr(ud).Target as PendingOperation;
    }

    /// <summary>The token for a read or a hook: the caller's until the first write.</summary>
    public CancellationToken ForRead => Volatile.Read(ref writeStarted) == 0 ? Cancellation : CancellationToken.None;

    /// <summary>Before a write: false when the caller has cancelled and nothing is written yet
    /// (the write must then not be made); true, and no cancellation from here on, otherwise.</summary>
    public bool BeginWrite()
    {
        if (Volatile.Read(ref writeStarted) == 0 && Cancellation.IsCancellationRequested)
        {
            Volatile.Write(ref cancelled, 1);
            return false;
        }
        Volatile.Write(ref writeStarted, 1);
        return true;
    }

    /// <summary>A callback failed with host code's exception: a cancellation of the caller's own
    /// token before any write cancels the operation; anything else is reported as the
    /// InnerException of the failure.</summary>
    public void Failed(Exception e)
    {
        if (e is OperationCanceledException && Cancellation.IsCancellationRequested && Volatile.Read(ref writeStarted) == 0)
        {
            Volatile.Write(ref cancelled, 1);
            return;
        }
        Interlocked.CompareExchange(ref hostError, e, null);
    }

    /// <summary>The <c>_begin</c> call itself failed: the done callback will never come.</summary>
    public void Abandon() => handle.Free();

    protected abstract void Finish(ResultCode result, RtcOutputs* outputs, nint error);

    /// <summary>The done callback of every operation.</summary>
    internal static delegate* unmanaged[Cdecl]<nint, ResultCode, RtcOutputs*, nint, void> DoneCallback => &Done;

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void Done(nint userData, ResultCode result, RtcOutputs* outputs, nint error)
    {
        GCHandle h = GCHandle.FromIntPtr(userData);
        var op = (PendingOperation)h.Target!;
        h.Free();
        op.Finish(result, outputs, error);
    }
}

/// <summary>An operation whose .NET result is a <typeparamref name="T"/>.</summary>
internal sealed unsafe class PendingOperation<T> : PendingOperation
{
    // Continuations run on the thread pool, never inside the native done callback.
    private readonly TaskCompletionSource<T> result = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly OutputsReader<T> read;
    private readonly Func<Refused, T>? refused;

    /// <param name="cancellation">The caller's token.</param>
    /// <param name="read">The result from the outputs.</param>
    /// <param name="refused">The result for a refusal; null: a refusal throws.</param>
    public PendingOperation(CancellationToken cancellation, OutputsReader<T> read, Func<Refused, T>? refused)
        : base(cancellation)
    {
        this.read = read;
        this.refused = refused;
    }

    public Task<T> Task => result.Task;

    protected override void Finish(ResultCode code, RtcOutputs* outputs, nint error)
    {
        try
        {
            if (code == ResultCode.Ok)
            {
                result.TrySetResult(read(outputs));
                return;
            }
            if (WasCancelled)
            {
                result.TrySetCanceled(Cancellation);
                return;
            }
            using var e = new ErrorHandle(error, owned: false);
            Refused r = Results.Map(code, e, HostError)!;
            result.TrySetResult(refused is not null ? refused(r) : throw r.AsException());
        }
        catch (Exception e)
        {
            result.TrySetException(e);
        }
    }
}
