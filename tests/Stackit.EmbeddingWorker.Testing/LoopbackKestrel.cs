using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Stackit.EmbeddingWorker.Testing;

/// <summary>Starts an in-process server on a free loopback port, without logging: the base of every loopback stand-in.</summary>
internal static class LoopbackKestrel
{
    /// <returns>The running application and its address (<c>http://127.0.0.1:port</c>, no trailing slash).</returns>
    public static async Task<(WebApplication App, string Address)> StartAsync(
        Action<WebApplication> map, Action<IServiceCollection>? services = null, HttpProtocols protocols = HttpProtocols.Http1,
        System.Security.Cryptography.X509Certificates.X509Certificate2? certificate = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = protocols;
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        services?.Invoke(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return (app, address.TrimEnd('/'));
    }
}
