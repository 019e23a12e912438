using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace RefreshTokenCore.Native;

/// <summary>
/// Everything of the host's that one native service calls back into: the store and the hooks,
/// behind one GCHandle that every callback of the service receives as its user data.
/// </summary>
/// <remarks>
/// The library finalizes each accepted registration's user data separately (and may, once
/// operations outlive a call, drop them at different moments), so the handle is reference
/// counted: each accepted registration holds one reference, released by its finalizer
/// (<see cref="Release"/>), and the builder holds one while it registers. The handle is freed
/// when the last reference goes, whatever the order.
/// </remarks>
internal sealed class HostObjects
{
    /// <summary>The host's asynchronous store (the asynchronous store callback).</summary>
    public IGrantStore? Store;
    /// <summary>The host's blocking store (the synchronous store callbacks).</summary>
    public IBlockingGrantStore? BlockingStore;
    public TimeProvider? Time;
    public Func<string, string, bool>? IsActive;
    public Func<string, string, CancellationToken, ValueTask<bool>>? IsActiveAsync;
    public Func<ConsumedTokenContext, bool>? AcceptConsumed;
    public Func<ConsumedTokenContext, CancellationToken, ValueTask<bool>>? AcceptConsumedAsync;
    public IPayloadProtector? Protector;
    public Action<string>? Events;
    /// <summary>Weak, so the GCHandle root does not keep the service alive.</summary>
    public WeakReference<RefreshTokenService>? Service;

    private int references = 1;
    private GCHandle handle;

    public HostObjects() => handle = GCHandle.Alloc(this);

    /// <summary>The user data every callback receives.</summary>
    public nint UserData => GCHandle.ToIntPtr(handle);

    public static HostObjects Of(nint userData) => (HostObjects)GCHandle.FromIntPtr(userData).Target!;

    /// <summary>A reference for a registration about to be offered to the library.</summary>
    public void Retain() => Interlocked.Increment(ref references);

    /// <summary>Drops one reference; the last frees the handle.</summary>
    public void Drop()
    {
        if (Interlocked.Decrement(ref references) == 0)
        {
            handle.Free();
        }
    }

    /// <summary>The finalizer of every registration.</summary>
    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static void Release(nint userData) => Of(userData).Drop();
}
