package uk.nhs.hee.tis.resilience.benchmarks;

import java.net.URI;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.TimeUnit;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;

import uk.nhs.hee.tis.resilience.jwt.JwkSetSettings;
import uk.nhs.hee.tis.resilience.jwt.ResilientJwkSetSource;

/**
 * Decoding one RS256 token with a warm key set: Spring Security's {@code NimbusJwtDecoder} on the
 * starter's resilient source, against {@code NimbusJwtDecoder.withJwkSetUri(…)}, both served by the
 * same JWKS server on loopback.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class JwtDecodeBenchmark {

	private LoopbackServer jwks;

	private ResilientJwkSetSource source;

	private NimbusJwtDecoder resilient;

	private NimbusJwtDecoder spring;

	private String token;

	@Setup
	public void setUp() throws Exception {
		RSAKey key = new RSAKeyGenerator(2048).keyID("k1").generate();
		this.jwks = new LoopbackServer("application/json", new JWKSet(key.toPublicJWK()).toString());
		String jwksUrl = this.jwks.url("/realms/tis/protocol/openid-connect/certs");
		this.source = new ResilientJwkSetSource(JwkSetSettings.defaults(URI.create(jwksUrl), null));
		this.source.refreshNow();
		this.resilient = NimbusJwtDecoder.withJwkSource(this.source).build();
		this.spring = NimbusJwtDecoder.withJwkSetUri(jwksUrl).build();
		SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").build(),
				new JWTClaimsSet.Builder().subject("ada")
					.expirationTime(Date.from(Instant.now().plusSeconds(86_400)))
					.build());
		jwt.sign(new RSASSASigner(key));
		this.token = jwt.serialize();
		this.resilient.decode(this.token);
		this.spring.decode(this.token);
	}

	@TearDown
	public void tearDown() {
		this.source.close();
		this.jwks.close();
	}

	@Benchmark
	public Jwt tisResilienceDecoder() {
		return this.resilient.decode(this.token);
	}

	@Benchmark
	public Jwt springJwkSetUriDecoder() {
		return this.spring.decode(this.token);
	}

}
