using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;

namespace Stackit.EmbeddingWorker.Embeddings.Throttling;

/// <summary>
/// The fleet ledger in the storage account the worker already uses: one empty blob per replica under
/// <c>fleet/&lt;model&gt;/</c> in the claim-check container, its demand in the blob's metadata (with <c>starting</c>
/// on its first report) and its age in the
/// blob's <c>Last-Modified</c> (the storage service's clock). A heartbeat costs two transactions: one PUT of the
/// replica's own blob (which also tells the service's time) and one LIST of the prefix with metadata.
/// </summary>
internal sealed class BlobFleetLedger(Lazy<BlobContainerClient> container, string model) : IFleetLedger
{
    private const string LiveKey = "live";
    private const string BackfillKey = "backfill";
    private const string StartingKey = "starting";

    private readonly string _prefix = $"fleet/{Scope(model)}/";

    public async Task<FleetView> PublishAsync(FleetDemand report, CancellationToken cancellationToken)
    {
        var blob = container.Value.GetBlobClient(_prefix + report.Member);
        var options = new BlobUploadOptions
        {
            Metadata = new Dictionary<string, string>
            {
                [LiveKey] = Format(report.Live),
                [BackfillKey] = Format(report.Backfill),
            },
        };
        if (report.Starting)
        {
            options.Metadata[StartingKey] = "true";
        }
        Response<BlobContentInfo> written;
        try
        {
            written = await blob.UploadAsync(BinaryData.Empty, options, cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.ContainerNotFound)
        {
            await container.Value.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            written = await blob.UploadAsync(BinaryData.Empty, options, cancellationToken).ConfigureAwait(false);
        }

        var members = new List<FleetMember>();
        var listing = container.Value.GetBlobsAsync(new GetBlobsOptions { Prefix = _prefix, Traits = BlobTraits.Metadata }, cancellationToken);
        await foreach (var item in listing.ConfigureAwait(false))
        {
            var member = item.Name[_prefix.Length..];
            if (member.Length == 0 || item.Properties.LastModified is not { } seen)
            {
                continue;
            }
            var starting = item.Metadata is not null && item.Metadata.TryGetValue(StartingKey, out var flag) && flag == "true";
            var demand = new FleetDemand(member, Parse(item.Metadata, LiveKey), Parse(item.Metadata, BackfillKey), starting);
            members.Add(new FleetMember(demand, seen));
        }
        return new FleetView(written.Value.LastModified, members);
    }

    public async Task RemoveAsync(string member, CancellationToken cancellationToken) =>
        await container.Value.GetBlobClient(_prefix + member).DeleteIfExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>A blob-name-safe folder per model: its readable part and a hash, since model names hold slashes.</summary>
    internal static string Scope(string model)
    {
        var readable = new string([.. model.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-')]);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(model)))[..12];
        return $"{(readable.Length > 64 ? readable[..64] : readable)}-{hash}";
    }

    private static string Format(double demand) =>
        double.IsPositiveInfinity(demand) ? "inf" : demand.ToString("0.######", CultureInfo.InvariantCulture);

    private static double Parse(IDictionary<string, string>? metadata, string key) =>
        metadata is not null && metadata.TryGetValue(key, out var text)
            ? text == "inf" ? double.PositiveInfinity
                : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0 ? value : 0
            : 0;
}
