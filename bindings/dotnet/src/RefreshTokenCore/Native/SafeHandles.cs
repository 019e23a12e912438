using System;
using System.Runtime.InteropServices;

namespace RefreshTokenCore.Native;

/// <summary>An rtc_service. Released with rtc_service_free; calls AddRef it, so it is never
/// freed while a call is running.</summary>
internal sealed class ServiceHandle : SafeHandle
{
    /// <summary>Required by the P/Invoke source generator.</summary>
    public ServiceHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    internal ServiceHandle(nint handle) : this() => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.rtc_service_free(handle);
        return true;
    }
}

/// <summary>An rtc_service_builder; consumed by a build, freed otherwise.</summary>
internal sealed class BuilderHandle : SafeHandle
{
    public BuilderHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    internal BuilderHandle(nint handle) : this() => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Hands the pointer to rtc_service_builder_build, which consumes it.</summary>
    internal nint Consume()
    {
        nint h = handle;
        SetHandleAsInvalid();
        return h;
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.rtc_service_builder_free(handle);
        return true;
    }
}

/// <summary>An rtc_error, read then freed (or only read: one a done callback is given belongs
/// to the library).</summary>
internal sealed class ErrorHandle : SafeHandle
{
    public ErrorHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    internal ErrorHandle(nint handle) : this() => SetHandle(handle);

    internal ErrorHandle(nint handle, bool owned) : base(IntPtr.Zero, owned) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.rtc_error_free(handle);
        return true;
    }
}

/// <summary>An rtc_token: a validated token the library keeps for its update. Kept from the
/// token a validation lends its done callback; freed with rtc_token_free.</summary>
internal sealed class TokenHandle : SafeHandle
{
    public TokenHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    private TokenHandle(nint handle) : this() => SetHandle(handle);

    /// <summary>Keeps the token lent in <c>rtc_outputs.token</c>; null when there is none.</summary>
    internal static TokenHandle? Keep(nint lent)
    {
        nint kept = lent == 0 ? 0 : NativeMethods.rtc_token_keep(lent);
        return kept == 0 ? null : new TokenHandle(kept);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.rtc_token_free(handle);
        return true;
    }
}
