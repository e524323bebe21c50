using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Stackit.EmbeddingWorker.Testing;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>
/// A loopback HTTP proxy in front of Azurite's queue endpoint that can hold back the answer to a receive: Azurite has
/// leased the messages already (they are invisible), but the worker has not heard of them yet. So a test can stop the
/// worker exactly while a receive is in flight. Everything else is passed through unchanged (the shared-key signature
/// covers the path, not the host, so it stays valid).
/// </summary>
public sealed partial class HoldingQueueProxy : IAsyncDisposable
{
    private readonly HttpClient _upstream = new(new SocketsHttpHandler { AutomaticDecompression = System.Net.DecompressionMethods.None });
    private readonly string _target;
    private readonly TaskCompletionSource<int> _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Microsoft.AspNetCore.Builder.WebApplication _app = null!;

    private HoldingQueueProxy(string target) => _target = target;

    /// <summary>Azurite's connection string with the queue endpoint pointed at this proxy.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>While set, the first receive that leases messages is answered only after <see cref="ReleaseHeld"/>.</summary>
    public bool HoldReceives { get; set; }

    /// <summary>Completes with the number of messages leased by the receive being held.</summary>
    public Task<int> ReceiveHeld => _held.Task;

    public void ReleaseHeld() => _release.TrySetResult();

    public static async Task<HoldingQueueProxy> StartAsync(string azuriteConnectionString)
    {
        var queueEndpoint = QueueEndpoint().Match(azuriteConnectionString).Groups[1].Value;
        var proxy = new HoldingQueueProxy(queueEndpoint.TrimEnd('/'));
        var (app, address) = await LoopbackKestrel.StartAsync(app => app.Run(proxy.ForwardAsync));
        proxy._app = app;
        var account = new Uri(queueEndpoint).AbsolutePath.Trim('/');
        proxy.ConnectionString = QueueEndpoint().Replace(azuriteConnectionString, $"QueueEndpoint={address}/{account};");
        return proxy;
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        var account = new Uri(_target).AbsolutePath.TrimEnd('/');
        var path = request.Path.Value!;
        var relative = path.StartsWith(account, StringComparison.Ordinal) ? path[account.Length..] : path;
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), _target + relative + request.QueryString.Value);
        if (request.ContentLength is > 0 || request.Headers.ContainsKey("Transfer-Encoding"))
        {
            var body = new MemoryStream();
            await request.Body.CopyToAsync(body, CancellationToken.None);
            forward.Content = new ByteArrayContent(body.ToArray());
        }
        foreach (var (name, values) in request.Headers)
        {
            if (name.Equals("Host", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (!forward.Headers.TryAddWithoutValidation(name, values.ToArray()))
            {
                forward.Content ??= new ByteArrayContent([]);
                forward.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }

        using var answer = await _upstream.SendAsync(forward, CancellationToken.None);
        var content = await answer.Content.ReadAsByteArrayAsync(CancellationToken.None);
        var leased = request.Method == HttpMethods.Get && relative.EndsWith("/messages", StringComparison.Ordinal)
                     && !request.QueryString.Value!.Contains("peekonly=true", StringComparison.OrdinalIgnoreCase)
            ? QueueMessageElement().Count(System.Text.Encoding.UTF8.GetString(content))
            : 0;
        if (leased > 0 && HoldReceives && _held.TrySetResult(leased))
        {
            // Azurite has leased these messages; the worker hears of them only when the test lets it.
            await _release.Task;
        }

        context.Response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
        {
            if (!name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }
        try
        {
            await context.Response.Body.WriteAsync(content, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The worker gave up on the answer: exactly what a held receive may show.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _release.TrySetResult();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }

    [GeneratedRegex("QueueEndpoint=([^;]+);?")]
    private static partial Regex QueueEndpoint();

    [GeneratedRegex("<QueueMessage>")]
    private static partial Regex QueueMessageElement();
}
