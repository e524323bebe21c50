using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Qdrant.Client;
using Qdrant.Client.Grpc;
using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.VectorStore;

/// <summary>
/// Makes the Qdrant clients of the worker and its commands. Qdrant's gRPC server accepts requests of any size and
/// answers without a limit of its own; gRPC clients refuse answers over 4 MiB by default, which is 255 vectors of
/// 4096 dimensions. The client here accepts answers up to <see cref="MaxReceiveBytes"/>, and reads of vectors are
/// paged well under it (<see cref="QdrantPointReader"/>), so neither limit is met by large documents.
/// </summary>
internal static class QdrantClients
{
    /// <summary>The largest answer the client accepts.</summary>
    public const int MaxReceiveBytes = 64 * 1024 * 1024;

    /// <summary>
    /// A client of <paramref name="options"/>' endpoint and API key. No logger factory: the client logs every failed
    /// call as an error with its stack, expected ones too (a read in a collection not created yet answers NotFound);
    /// the worker logs the failures that matter itself.
    /// </summary>
    public static QdrantClient Create(QdrantOptions options, TimeSpan timeout, WorkerMetrics? metrics = null)
    {
        var channel = GrpcChannel.ForAddress(options.Endpoint, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = MaxReceiveBytes,
            MaxSendMessageSize = null,
            HttpHandler = Handler(options),
        });
        var invoker = options.ApiKey is { Length: > 0 } key
            ? channel.Intercept(metadata =>
            {
                metadata.Add("api-key", key);
                return metadata;
            })
            : channel.CreateCallInvoker();
        if (metrics is not null)
        {
            invoker = invoker.Intercept(new QdrantCallMetrics(metrics));
        }
        return new QdrantClient(new QdrantGrpcClient(invoker), timeout);
    }

    /// <summary>The connection handler: the system's trust, plus <c>Qdrant:CertificateFile</c> or <c>Qdrant:CertificateThumbprint</c> when set.</summary>
    private static SocketsHttpHandler Handler(QdrantOptions options)
    {
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true };
        if (options.CertificateThumbprint is { Length: > 0 } thumbprint)
        {
            var expected = thumbprint.Replace(":", "", StringComparison.Ordinal).Trim();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None
                || (certificate is not null && string.Equals(certificate.GetCertHashString(HashAlgorithmName.SHA256), expected, StringComparison.OrdinalIgnoreCase));
        }
        else if (options.CertificateFile is { Length: > 0 } file)
        {
            var trusted = X509CertificateLoader.LoadCertificateFromFile(file);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (errors == SslPolicyErrors.None)
                {
                    return true;
                }
                if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    return false;
                }
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(trusted);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(certificate));
            };
        }
        return handler;
    }
}
