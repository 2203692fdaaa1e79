package uk.nhs.hee.tis.resilience.autoconfigure.jwt;

import java.time.Instant;
import java.util.Date;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;
import org.springframework.security.oauth2.jwt.BadJwtException;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.ReactiveJwtDecoder;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.TisResilienceAutoConfiguration;

import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/** A WebFlux resource server gets the ReactiveJwtDecoder on the same resilient source. */
class ReactiveJwtDecoderTests {

	private static final String CERTS = "/realms/tis/protocol/openid-connect/certs";

	@RegisterExtension
	static WireMockExtension keycloak = LoopbackFixtures.loopbackServer();

	private final ReactiveWebApplicationContextRunner runner = new ReactiveWebApplicationContextRunner()
		.withConfiguration(AutoConfigurations.of(TisResilienceAutoConfiguration.class, JwtDecoderAutoConfiguration.class))
		.withPropertyValues("spring.security.oauth2.resourceserver.jwt.issuer-uri=" + issuer());

	private static String issuer() {
		return keycloak.baseUrl() + "/realms/tis";
	}

	@Test
	void decodesTokensAndKeepsDoingSoWhenTheIssuerGoesDown() throws Exception {
		RSAKey key = new RSAKeyGenerator(2048).keyID("k1").generate();
		keycloak.stubFor(get(CERTS).willReturn(okJson(new JWKSet(key.toPublicJWK()).toString())));
		SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k1").build(),
				new JWTClaimsSet.Builder().subject("ada")
					.issuer(issuer())
					.expirationTime(Date.from(Instant.now().plusSeconds(600)))
					.build());
		jwt.sign(new RSASSASigner(key));
		this.runner.run((context) -> {
			assertThat(context).hasSingleBean(ReactiveJwtDecoder.class).doesNotHaveBean(JwtDecoder.class);
			ReactiveJwtDecoder decoder = context.getBean(ReactiveJwtDecoder.class);
			assertThat(decoder.decode(jwt.serialize()).block().getSubject()).isEqualTo("ada");
			keycloak.stubFor(get(CERTS).willReturn(serviceUnavailable()));
			assertThat(decoder.decode(jwt.serialize()).block().getSubject()).isEqualTo("ada");
			SignedJWT unknown = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("k2").build(),
					jwt.getJWTClaimsSet());
			unknown.sign(new RSASSASigner(key));
			assertThatExceptionOfType(BadJwtException.class).isThrownBy(() -> decoder.decode(unknown.serialize()).block());
		});
	}

}
