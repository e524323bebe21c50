using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Stackit.EmbeddingWorker.Testing;

/// <summary>
/// Kestrel on a free loopback port answering <c>POST /v1/embeddings</c>, and the OpenAI error shape: what the
/// tests' fake server and the benchmark's simulated endpoint have in common.
/// </summary>
internal sealed class LoopbackEmbeddingsHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackEmbeddingsHost(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>Ends in <c>/v1</c>, as <c>Embeddings:BaseUrl</c> does.</summary>
    public Uri BaseUrl { get; }

    public static async Task<LoopbackEmbeddingsHost> StartAsync(RequestDelegate handler)
    {
        var (app, address) = await LoopbackKestrel.StartAsync(app => app.MapPost("/v1/embeddings", handler));
        return new LoopbackEmbeddingsHost(app, new Uri(address + "/v1"));
    }

    /// <summary>An error as vLLM's OpenAI server answers it, with Retry-After when given.</summary>
    public static async Task WriteErrorAsync(HttpContext context, HttpStatusCode status, string message, string? retryAfter)
    {
        context.Response.StatusCode = (int)status;
        if (retryAfter is not null)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }
        context.Response.ContentType = "application/json";
        var type = (int)status == 400 ? "BadRequestError" : status.ToString();
        await context.Response.WriteAsync(JsonSerializer.Serialize(new { error = new { message, type, param = (string?)null, code = (int)status } }));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
