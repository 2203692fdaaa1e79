package uk.nhs.hee.tis.resilience.jwt;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.util.JSONObjectUtils;
import org.jspecify.annotations.Nullable;

/**
 * The last-known-good key set on disk, so that a service restarted while the issuer is down can
 * validate tokens at once. Written atomically with owner-only permissions; bound to the issuer and
 * key set URL; integrity-checked with HMAC-SHA256 when a key is configured, else a SHA-256 checksum
 * (which catches corruption, not tampering). A file that fails any check is not trusted.
 */
final class JwksCacheFile {

	private static final int VERSION = 1;

	private final Path path;

	private final String boundTo;

	private final byte @Nullable [] hmacKey;

	JwksCacheFile(Path path, String jwkSetUri, @Nullable String issuer, byte @Nullable [] hmacKey) {
		this.path = path;
		this.boundTo = String.valueOf(issuer) + "|" + jwkSetUri;
		this.hmacKey = hmacKey;
	}

	Path path() {
		return this.path;
	}

	void write(JWKSet keys, Instant fetchedAt) throws IOException {
		String jwks = keys.toString(true);
		Map<String, Object> document = new LinkedHashMap<>();
		document.put("version", VERSION);
		document.put("boundTo", this.boundTo);
		document.put("fetchedAt", fetchedAt.toEpochMilli());
		document.put("jwks", jwks);
		document.put("integrity", integrity(fetchedAt.toEpochMilli(), jwks));
		Path directory = this.path.toAbsolutePath().getParent();
		Files.createDirectories(directory);
		Path temporary = Files.createTempFile(directory, ".jwks-", ".tmp");
		try {
			restrictToOwner(temporary);
			Files.writeString(temporary, JSONObjectUtils.toJSONString(document), StandardCharsets.UTF_8);
			try {
				Files.move(temporary, this.path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
			}
			catch (AtomicMoveNotSupportedException ex) {
				Files.move(temporary, this.path, StandardCopyOption.REPLACE_EXISTING);
			}
		}
		finally {
			Files.deleteIfExists(temporary);
		}
	}

	/**
	 * Reads the file.
	 * @return the keys and when they were fetched
	 * @throws IOException when the file is missing, unreadable, or fails a check (the message says which)
	 */
	Snapshot read() throws IOException {
		Map<String, Object> document;
		try {
			document = JSONObjectUtils.parse(Files.readString(this.path, StandardCharsets.UTF_8));
		}
		catch (java.text.ParseException ex) {
			throw new IOException("not a JSON document", ex);
		}
		try {
			if (JSONObjectUtils.getInt(document, "version") != VERSION) {
				throw new IOException("unknown version");
			}
			if (!this.boundTo.equals(JSONObjectUtils.getString(document, "boundTo"))) {
				throw new IOException("written for another issuer or key set URL ("
						+ JSONObjectUtils.getString(document, "boundTo") + ")");
			}
			long fetchedAt = JSONObjectUtils.getLong(document, "fetchedAt");
			String jwks = JSONObjectUtils.getString(document, "jwks");
			String integrity = JSONObjectUtils.getString(document, "integrity");
			if (jwks == null || integrity == null || !MessageDigest.isEqual(
					integrity.getBytes(StandardCharsets.US_ASCII),
					integrity(fetchedAt, jwks).getBytes(StandardCharsets.US_ASCII))) {
				throw new IOException("integrity check failed" + ((this.hmacKey != null) ? " (HMAC)" : " (checksum)"));
			}
			return new Snapshot(JWKSet.parse(jwks), Instant.ofEpochMilli(fetchedAt));
		}
		catch (java.text.ParseException ex) {
			throw new IOException("malformed: " + ex.getMessage(), ex);
		}
	}

	private String integrity(long fetchedAt, String jwks) {
		byte[] content = (VERSION + "|" + this.boundTo + "|" + fetchedAt + "|" + jwks).getBytes(StandardCharsets.UTF_8);
		try {
			if (this.hmacKey != null) {
				Mac mac = Mac.getInstance("HmacSHA256");
				mac.init(new SecretKeySpec(this.hmacKey, "HmacSHA256"));
				return "hmac-sha256:" + Base64.getEncoder().encodeToString(mac.doFinal(content));
			}
			return "sha256:" + Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256").digest(content));
		}
		catch (GeneralSecurityException ex) {
			throw new IllegalStateException("HmacSHA256 and SHA-256 are required of every Java platform", ex);
		}
	}

	private static void restrictToOwner(Path file) throws IOException {
		if (FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
			Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
		}
	}

	/** Keys with the time they were fetched from the issuer. */
	record Snapshot(JWKSet keys, Instant fetchedAt) {
	}

}
