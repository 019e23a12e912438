using System;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace RefreshTokenCore.Duende;

/// <summary>
/// Turns what the refresh-token service throws inside Duende's pipeline into OAuth answers:
/// Duende has no error path after validation, so without this a storage outage or a refresh that
/// lost a race to a parallel one would be HTTP 500. A retryable failure becomes 503
/// <c>temporarily_unavailable</c> with Retry-After (nothing was consumed: the client retries with
/// the same token); a refusal becomes 400 with its OAuth error. Anything else passes through.
/// </summary>
internal sealed class TokenEndpointErrorMiddleware
{
    private readonly RequestDelegate next;
    private readonly ILogger logger;

    public TokenEndpointErrorMiddleware(RequestDelegate next, ILogger<TokenEndpointErrorMiddleware> logger)
    {
        this.next = next;
        this.logger = logger;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception e) when (Find(e) is { } failure && !context.Response.HasStarted)
        {
            (int status, string error) = failure.IsRetryable
                ? (StatusCodes.Status503ServiceUnavailable, "temporarily_unavailable")
                : (StatusCodes.Status400BadRequest, failure.Code == ResultCode.InvalidRequest ? "invalid_request" : "invalid_grant");
            if (failure.IsRetryable)
            {
                logger.LogWarning(failure, "refresh-token-core: retryable failure, answered {Status} {Error}", status, error);
            }
            else
            {
                logger.LogInformation("refresh-token-core: refresh refused after validation ({Code}), answered {Status} {Error}", failure.Code, status, error);
            }
            context.Response.Clear();
            context.Response.StatusCode = status;
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers.Pragma = "no-cache";
            if (failure.IsRetryable)
            {
                context.Response.Headers.RetryAfter = "1";
            }
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($"{{\"error\":\"{error}\"}}").ConfigureAwait(false);
        }
    }

    /// <summary>The library's own failure, however deep in the exception chain, if it is one of the answerable kinds.</summary>
    private static RefreshTokenCoreException? Find(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            if (x is RefreshTokenCoreException r && (r.IsRetryable || r.Code is ResultCode.InvalidGrant or ResultCode.InvalidRequest))
            {
                return r;
            }
        }
        return null;
    }
}

/// <summary>Puts <see cref="TokenEndpointErrorMiddleware"/> in front of the host's pipeline.</summary>
internal sealed class TokenEndpointErrorStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<TokenEndpointErrorMiddleware>();
        next(app);
    };
}
