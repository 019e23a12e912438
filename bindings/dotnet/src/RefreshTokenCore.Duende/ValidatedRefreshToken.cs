using DRefreshToken = global::Duende.IdentityServer.Models.RefreshToken;

namespace RefreshTokenCore.Duende;

/// <summary>
/// The Duende token a validation hands to Duende's pipeline: Duende's own model (a host's code
/// sees a <see cref="DRefreshToken"/> like any other), carrying what it was validated from to
/// the update, to which the pipeline passes the same object.
/// </summary>
/// <remarks>
/// This replaced a <c>ConditionalWeakTable</c> keyed by the object: the table takes a lock on
/// every add, which serialized concurrent refreshes, and its dependent handles and containers
/// outlived the requests (gen-1 and gen-2 collections, the finalizer thread freeing the old
/// containers); bench/RESULTS.md has the figures.
/// </remarks>
internal sealed class ValidatedRefreshToken : DRefreshToken
{
    /// <summary>What the token was validated from; null on an object this service did not
    /// finish validating.</summary>
    internal ValidatedToken? Validated { get; set; }
}
