using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Stackit.EmbeddingWorker.Testing.QueueStandIn;

/// <summary>
/// A STAND-IN for Azure Queue Storage, not Azurite: an in-process HTTP server on loopback that speaks the
/// Queue service's REST protocol (the calls Azure.Storage.Queues makes for the worker: create, delete and
/// properties of a queue; send, receive, peek, update, delete and clear of messages), answers with Azure's
/// status codes and error codes, and rejects what Azurite rejects (range of every parameter, message size,
/// stale pop receipts, missing queues, missing authorization; it does not check the signature).
/// The queue contract tests run the same calls against it and Azurite.
/// </summary>
/// <remarks>
/// Only for the benchmark's scale: Azurite keeps messages unindexed and scans them all on every call, so it
/// cannot hold the 100,000-message backlog the benchmark measures, nor keep up with the worker on short texts.
/// Tests use Azurite.
/// </remarks>
public sealed partial class QueueStandInServer : IAsyncDisposable
{
    public const string Account = "devstoreaccount1";

    private const int MaxMessageBytes = 64 * 1024;
    private const int MaxVisibilitySeconds = 7 * 24 * 3600;

    private readonly ConcurrentDictionary<string, StandInQueue> _queues = new();
    private readonly TimeProvider _time;
    private WebApplication _app = null!;

    private QueueStandInServer(TimeProvider time) => _time = time;

    /// <summary>A connection string for the stand-in with the emulator's published development account.</summary>
    public string ConnectionString { get; private set; } = "";

    public QueueClient Queue(string name) =>
        new(ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });

    public static async Task<QueueStandInServer> StartAsync(TimeProvider? time = null)
    {
        var server = new QueueStandInServer(time ?? TimeProvider.System);
        var (app, address) = await LoopbackKestrel.StartAsync(app => app.Run(server.HandleAsync));
        server._app = app;
        server.ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AzuriteProcess.DevAccountKey};QueueEndpoint={address}/{Account};";
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers["x-ms-request-id"] = Guid.NewGuid().ToString();
        response.Headers["x-ms-version"] = request.Headers["x-ms-version"].ToString();
        response.Headers.Date = QueueWire.Time(_time.GetUtcNow());
        if (!request.Headers.Authorization.ToString().StartsWith("SharedKey " + Account + ":", StringComparison.Ordinal) && !request.Query.ContainsKey("sig"))
        {
            await QueueWire.FailAsync(response, new QueueError(403, "AuthenticationFailed", "Server failed to authenticate the request."));
            return;
        }

        var segments = request.Path.Value!.Trim('/').Split('/');
        if (segments[0] != Account || segments.Length < 2)
        {
            await QueueWire.FailAsync(response, new QueueError(400, "InvalidUri", "The requested URI does not represent any resource on the server."));
            return;
        }
        var name = segments[1];
        if (!ValidQueueName().IsMatch(name) || name.Contains("--", StringComparison.Ordinal))
        {
            await QueueWire.FailAsync(response, new QueueError(400, "InvalidResourceName", "The specified resource name contains invalid characters."));
            return;
        }

        var error = (segments.Length, request.Method) switch
        {
            (2, "PUT") => CreateQueue(response, name, request.Query["comp"] == "metadata"),
            (2, "DELETE") => _queues.TryRemove(name, out _) ? QueueWire.NoContent(response) : QueueError.QueueNotFound,
            (2, "GET" or "HEAD") when request.Query["comp"] == "metadata" => Properties(response, name),
            (3, _) when segments[2] == "messages" => await MessagesAsync(context, name),
            (4, _) when segments[2] == "messages" => await MessageAsync(context, name, segments[3]),
            _ => new QueueError(501, "NotImplemented", $"The queue stand-in does not implement {request.Method} {request.Path}{request.QueryString}."),
        };
        if (error is not null)
        {
            await QueueWire.FailAsync(response, error);
        }
    }

    private QueueError? CreateQueue(HttpResponse response, string name, bool setMetadata)
    {
        if (setMetadata)
        {
            return _queues.ContainsKey(name) ? QueueWire.NoContent(response) : QueueError.QueueNotFound;
        }
        response.StatusCode = _queues.TryAdd(name, new StandInQueue(_time)) ? 201 : 204;
        return null;
    }

    private QueueError? Properties(HttpResponse response, string name)
    {
        if (!_queues.TryGetValue(name, out var queue))
        {
            return QueueError.QueueNotFound;
        }
        response.Headers["x-ms-approximate-messages-count"] = queue.Count.ToString(CultureInfo.InvariantCulture);
        response.StatusCode = 200;
        return null;
    }

    private async Task<QueueError?> MessagesAsync(HttpContext context, string name)
    {
        var (request, response) = (context.Request, context.Response);
        if (!_queues.TryGetValue(name, out var queue))
        {
            return QueueError.QueueNotFound;
        }
        switch (request.Method)
        {
            case "POST":
            {
                if (await QueueWire.ReadTextAsync(request) is not { } text)
                {
                    return new QueueError(400, "InvalidXmlDocument", "XML specified is not syntactically valid.");
                }
                if (TooLarge(text))
                {
                    return QueueError.BodyTooLarge;
                }
                var visibility = QueueWire.Seconds(request, "visibilitytimeout", 0, 0, MaxVisibilitySeconds);
                var ttl = QueueWire.Seconds(request, "messagettl", 7 * 24 * 3600, -1, int.MaxValue);
                if (visibility is null || ttl is null || ttl == TimeSpan.Zero)
                {
                    return QueueError.OutOfRange(visibility is null ? "visibilitytimeout" : "messagettl");
                }
                var lifetime = ttl < TimeSpan.Zero ? DateTimeOffset.MaxValue - _time.GetUtcNow() - TimeSpan.FromDays(1) : ttl.Value;
                if (lifetime <= visibility)
                {
                    return new QueueError(400, "InvalidQueryParameterValue", "messagettl must be greater than visibilitytimeout.");
                }
                var sent = queue.Send(text, visibility.Value, lifetime);
                await QueueWire.WriteMessagesAsync(response, 201, [sent], withText: false, withDequeueCount: false);
                return null;
            }
            case "GET":
            {
                var count = QueueWire.Count(request);
                if (count is null)
                {
                    return QueueError.OutOfRange("numofmessages");
                }
                if (request.Query["peekonly"] == "true")
                {
                    await QueueWire.WriteMessagesAsync(response, 200, queue.Peek(count.Value), withText: true, withDequeueCount: true, peeked: true);
                    return null;
                }
                var visibility = QueueWire.Seconds(request, "visibilitytimeout", 30, 1, MaxVisibilitySeconds);
                if (visibility is null)
                {
                    return QueueError.OutOfRange("visibilitytimeout");
                }
                await QueueWire.WriteMessagesAsync(response, 200, queue.Receive(count.Value, visibility.Value), withText: true, withDequeueCount: true);
                return null;
            }
            case "DELETE":
                _queues[name] = new StandInQueue(_time);
                return QueueWire.NoContent(response);
            default:
                return new QueueError(405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.");
        }
    }

    private async Task<QueueError?> MessageAsync(HttpContext context, string name, string id)
    {
        var (request, response) = (context.Request, context.Response);
        if (!_queues.TryGetValue(name, out var queue))
        {
            return QueueError.QueueNotFound;
        }
        var popReceipt = request.Query["popreceipt"].ToString();
        if (popReceipt.Length == 0)
        {
            return new QueueError(400, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this request is not specified: popreceipt.");
        }
        switch (request.Method)
        {
            case "PUT":
            {
                var visibility = QueueWire.Seconds(request, "visibilitytimeout", 30, 0, MaxVisibilitySeconds);
                if (visibility is null)
                {
                    return QueueError.OutOfRange("visibilitytimeout");
                }
                var text = request.ContentLength > 0 ? await QueueWire.ReadTextAsync(request) : null;
                if (text is not null && TooLarge(text))
                {
                    return QueueError.BodyTooLarge;
                }
                if (queue.Update(id, popReceipt, visibility.Value, text, out var updated) is { } error)
                {
                    return error;
                }
                response.Headers["x-ms-popreceipt"] = updated!.PopReceipt;
                response.Headers["x-ms-time-next-visible"] = QueueWire.Time(updated.NextVisible);
                return QueueWire.NoContent(response);
            }
            case "DELETE":
                return queue.Delete(id, popReceipt) ?? QueueWire.NoContent(response);
            default:
                return new QueueError(405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.");
        }
    }

    private static bool TooLarge(string text) => System.Text.Encoding.UTF8.GetByteCount(text) > MaxMessageBytes;

    // Azure's rule: 3–63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit.
    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{1,61}[a-z0-9])$")]
    private static partial Regex ValidQueueName();
}
