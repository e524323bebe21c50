using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Qdrant.Client;

namespace Stackit.EmbeddingWorker.Testing.QdrantStandIn;

/// <summary>
/// A STAND-IN for Qdrant, not Qdrant: an in-process gRPC server (HTTP/2 on loopback) that speaks Qdrant's
/// real protocol with Qdrant.Client's own message types, implements the methods the worker calls, and
/// rejects what Qdrant rejects (missing collection, wrong vector dimension, bad point id). Used where no
/// Qdrant server can run; tests against real Qdrant use <c>RealQdrantFixture</c> (in the test project).
/// </summary>
public sealed class QdrantStandInServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private QdrantStandInServer(WebApplication app, StandInStore store)
    {
        _app = app;
        Store = store;
    }

    public StandInStore Store { get; }

    public required Uri Endpoint { get; init; }

    public QdrantClient CreateClient() => new(Endpoint);

    /// <summary>The stand-in over TLS with <paramref name="certificate"/> when given (<c>https://127.0.0.1:port</c>).</summary>
    public static async Task<QdrantStandInServer> StartAsync(System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        var store = new StandInStore();
        var (app, address) = await LoopbackKestrel.StartAsync(
            app =>
            {
                app.MapGrpcService<PointsStandInService>();
                app.MapGrpcService<CollectionsStandInService>();
                app.MapGrpcService<QdrantStandInService>();
            },
            // Like Qdrant's server, no limit on the size of a request.
            services => services.AddSingleton(store).AddGrpc(o => o.MaxReceiveMessageSize = null),
            HttpProtocols.Http2,
            certificate);
        return new QdrantStandInServer(app, store) { Endpoint = new Uri(address) };
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
