using System;

namespace RefreshTokenCore.Native;

/// <summary>Checks once, before any other call, that the loaded native library speaks the ABI
/// these bindings were written for.</summary>
internal static class AbiCheck
{
    private static readonly Lazy<Exception?> Result = new(() =>
    {
        try
        {
            return Verify(NativeMethods.rtc_abi_version());
        }
        catch (DllNotFoundException e)
        {
            return new RefreshTokenCoreException(
                $"The native library '{NativeMethods.Library}' could not be loaded: {e.Message}. It ships in the RefreshTokenCore package under runtimes/<rid>/native.",
                ResultCode.InvalidArgument, retryable: false, inner: e);
        }
    });

    /// <summary>The error for a loaded library of another ABI version, or null when it matches.</summary>
    internal static Exception? Verify(uint actual) => actual == NativeMethods.ExpectedAbiVersion
        ? null
        : new RefreshTokenCoreException(
            $"The native library refresh_token_core has ABI version {actual}, but these .NET bindings (RefreshTokenCore {typeof(AbiCheck).Assembly.GetName().Version}) need ABI version {NativeMethods.ExpectedAbiVersion}. Use the native library from the same release as the bindings.",
            ResultCode.InvalidArgument, retryable: false);

    internal static void Ensure()
    {
        if (Result.Value is { } e)
        {
            throw e;
        }
    }
}
