using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Qdrant.Client;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure.QdrantStandIn;

/// <summary>
/// A STAND-IN for Qdrant, not Qdrant: an in-process gRPC server (HTTP/2 on loopback) that speaks Qdrant's
/// real protocol with Qdrant.Client's own message types, implements the methods the worker calls, and
/// rejects what Qdrant rejects (missing collection, wrong vector dimension, bad point id). Used where no
/// Qdrant server can run; tests against real Qdrant use <see cref="RealQdrantFixture"/>.
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

    public Uri Endpoint { get; private set; } = null!;

    public QdrantClient CreateClient() => new(Endpoint);

    public static async Task<QdrantStandInServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        var store = new StandInStore();
        builder.Services.AddSingleton(store);
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<PointsStandInService>();
        app.MapGrpcService<CollectionsStandInService>();
        app.MapGrpcService<QdrantStandInService>();
        await app.StartAsync();
        var server = new QdrantStandInServer(app, store);
        server.Endpoint = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
