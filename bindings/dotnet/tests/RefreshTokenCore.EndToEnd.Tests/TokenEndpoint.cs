using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using RefreshTokenCore;

namespace RefreshTokenCore.EndToEnd.Tests;

/// <summary>A registered client: its secret and its refresh-token settings.</summary>
public sealed record RegisteredClient(string Secret, ClientSettings Settings);

/// <summary>
/// A minimal OAuth 2.0 token endpoint for the refresh_token grant (RFC 6749 §6) on
/// refresh-token-core: client authentication (Basic or form), then the grant, with RFC 6749
/// error responses; a retryable core failure is HTTP 503 temporarily_unavailable.
/// </summary>
public static class TokenEndpoint
{
    public static void Map(WebApplication app, IReadOnlyDictionary<string, RegisteredClient> clients)
    {
        app.MapPost("/connect/token", async (HttpContext http, RefreshTokenService service) =>
        {
            if (!http.Request.HasFormContentType)
            {
                return Error(400, "invalid_request");
            }
            IFormCollection form = await http.Request.ReadFormAsync();
            (string? id, string? secret, bool basic) = Credentials(http.Request, form);
            if (id is null || !clients.TryGetValue(id, out RegisteredClient? client) || !SecretMatches(client.Secret, secret))
            {
                return Error(basic ? 401 : 400, "invalid_client");
            }
            if (form["grant_type"] != "refresh_token")
            {
                return Error(400, "unsupported_grant_type");
            }
            string refreshToken = form["refresh_token"].ToString();
            try
            {
                RefreshResult r = await service.RefreshAsync(client.Settings, refreshToken, form["resource"].FirstOrDefault());
                if (r.IsError)
                {
                    return Error(400, r.Error!);
                }
                return Results.Json(new Dictionary<string, object>
                {
                    // A real server mints a JWT from r.AccessToken; the sample returns an opaque value.
                    ["access_token"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)),
                    ["token_type"] = "Bearer",
                    ["expires_in"] = r.AccessToken!.Lifetime,
                    ["refresh_token"] = r.Handle!,
                    ["scope"] = string.Join(' ', r.RefreshToken!.AuthorizedScopes),
                });
            }
            catch (RefreshTokenCoreException e) when (e.IsRetryable)
            {
                return Error(503, "temporarily_unavailable");
            }
        });
    }

    private static IResult Error(int status, string error) =>
        Results.Json(new Dictionary<string, string> { ["error"] = error }, statusCode: status);

    private static (string? Id, string? Secret, bool Basic) Credentials(HttpRequest request, IFormCollection form)
    {
        string header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                string decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                int colon = decoded.IndexOf(':');
                if (colon > 0)
                {
                    return (Uri.UnescapeDataString(decoded[..colon]), Uri.UnescapeDataString(decoded[(colon + 1)..]), true);
                }
            }
            catch (FormatException)
            {
            }
            return (null, null, true);
        }
        return (form["client_id"].FirstOrDefault(), form["client_secret"].FirstOrDefault(), false);
    }

    private static bool SecretMatches(string expected, string? given) =>
        given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(given));
}
