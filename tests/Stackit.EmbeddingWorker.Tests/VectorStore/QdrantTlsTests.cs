using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Stackit.EmbeddingWorker.Testing.QdrantStandIn;
using Stackit.EmbeddingWorker.VectorStore;

namespace Stackit.EmbeddingWorker.Tests.VectorStore;

/// <summary>
/// TLS to Qdrant: the Qdrant STAND-IN over https:// on loopback with a self-signed certificate, which the system does
/// not trust: trusted through Qdrant:CertificateFile or Qdrant:CertificateThumbprint, refused without them.
/// </summary>
public sealed class QdrantTlsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_self_signed_endpoint_is_trusted_by_its_certificate_file_or_thumbprint_and_refused_without()
    {
        using var certificate = SelfSigned();
        await using var qdrant = await QdrantStandInServer.StartAsync(certificate);
        Assert.Equal("https", qdrant.Endpoint.Scheme);
        var file = Path.Combine(Path.GetTempPath(), $"qdrant-ca-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(file, certificate.ExportCertificatePem(), Ct);
        try
        {
            Assert.NotEmpty(await VersionAsync(new QdrantOptions { Endpoint = qdrant.Endpoint, CertificateFile = file }));
            Assert.NotEmpty(await VersionAsync(new QdrantOptions { Endpoint = qdrant.Endpoint, CertificateThumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256) }));
            await Assert.ThrowsAsync<RpcException>(() => VersionAsync(new QdrantOptions { Endpoint = qdrant.Endpoint }));
            await Assert.ThrowsAsync<RpcException>(() => VersionAsync(new QdrantOptions { Endpoint = qdrant.Endpoint, CertificateThumbprint = new string('0', 64) }));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_certificate_setting_with_an_http_endpoint_or_a_missing_file_is_refused_at_start()
    {
        var http = new QdrantOptions { Endpoint = new Uri("http://qdrant:6334"), Collection = "d", CertificateThumbprint = "AB" };
        var missing = new QdrantOptions { Endpoint = new Uri("https://qdrant:6334"), Collection = "d", CertificateFile = "/nonexistent/ca.pem" };

        Assert.Contains(http.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(http)), r => r.ErrorMessage!.Contains("need an https://", StringComparison.Ordinal));
        Assert.Contains(missing.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(missing)), r => r.ErrorMessage!.Contains("does not exist", StringComparison.Ordinal));
    }

    private static async Task<string> VersionAsync(QdrantOptions options)
    {
        using var client = QdrantClients.Create(options, TimeSpan.FromSeconds(10));
        return (await client.HealthAsync(Ct)).Version;
    }

    /// <summary>A server certificate for 127.0.0.1 signed by itself: no system trusts it.</summary>
    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=qdrant-stand-in", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), null);
    }
}
