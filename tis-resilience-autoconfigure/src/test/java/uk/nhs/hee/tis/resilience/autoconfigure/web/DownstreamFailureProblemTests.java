package uk.nhs.hee.tis.resilience.autoconfigure.web;

import java.util.ArrayList;
import java.util.List;

import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * An availability failure of a protected downstream that reaches a controller unhandled becomes a
 * 503 (504 for a timeout) problem+json naming the service from the very first failure, while the
 * breaker is still closed; never Boot's 500, never the downstream's body or headers. Other
 * downstream answers (a 404) are left to the application, as without the starter.
 */
class DownstreamFailureProblemTests {

	@RegisterExtension
	static WireMockExtension profile = LoopbackFixtures.loopbackServer();

	private final List<ConfigurableApplicationContext> apps = new ArrayList<>();

	@AfterEach
	void stop() {
		this.apps.forEach(ConfigurableApplicationContext::close);
	}

	private static void profileAnswers(int status, String... headers) {
		var response = aResponse().withStatus(status)
			.withHeader("X-Downstream-Secret", "s3cr3t")
			.withBody("downstream secret body");
		for (int i = 0; i < headers.length; i += 2) {
			response = response.withHeader(headers[i], headers[i + 1]);
		}
		profile.stubFor(get("/profile/api/userinfo").willReturn(response));
	}

	@Test
	void answersAProfile503With503ProblemJsonNamingProfileOnTheFirstFailure() {
		profileAnswers(503);
		ResponseEntity<String> response = call(start(true), "/api/me");
		assertThat(response.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
		assertThat(response.getHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_PROBLEM_JSON);
		assertThat(response.getBody()).contains("\"service\":\"profile\"")
			.contains("\"reason\":\"SERVER_ERROR\"")
			.doesNotContain("downstream secret")
			.doesNotContain("s3cr3t");
		assertThat(response.getHeaders().headerNames()).doesNotContain("X-Downstream-Secret", "Tis-Resilience-Service");
	}

	@Test
	void answersEveryAvailabilityStatusAsAProblemAndNeverA500() {
		ConfigurableApplicationContext app = start(true);
		profileAnswers(500);
		assertThat(call(app, "/api/me").getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
		profileAnswers(502);
		assertThat(call(app, "/api/me").getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
		profileAnswers(408);
		assertThat(call(app, "/api/me").getStatusCode()).isEqualTo(HttpStatus.GATEWAY_TIMEOUT);
		profileAnswers(429, "Retry-After", "7");
		ResponseEntity<String> throttled = call(app, "/api/me");
		assertThat(throttled.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
		assertThat(throttled.getHeaders().getFirst("Retry-After")).isEqualTo("7");
		assertThat(throttled.getBody()).contains("\"reason\":\"THROTTLED\"");
	}

	@Test
	void answersAWebClientCallsFailuresAsTheSameProblems() {
		ConfigurableApplicationContext app = start(true);
		profileAnswers(503);
		ResponseEntity<String> unavailable = call(app, "/api/me-reactive");
		assertThat(unavailable.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
		assertThat(unavailable.getHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_PROBLEM_JSON);
		assertThat(unavailable.getBody()).contains("\"service\":\"profile\"").contains("\"reason\":\"SERVER_ERROR\"");
		profile.stubFor(get("/profile/api/userinfo").willReturn(aResponse().withFault(Fault.MALFORMED_RESPONSE_CHUNK)));
		ResponseEntity<String> brokenOff = call(app, "/api/me-reactive");
		assertThat(brokenOff.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
		assertThat(brokenOff.getBody()).contains("\"service\":\"profile\"");
		assertThat(call(start(false), "/api/me-reactive").getStatusCode()).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
	}

	@Test
	void answersARefusedConnectionAsA503Problem() {
		ResponseEntity<String> response = call(start(true, "http://127.0.0.1:1/profile"), "/api/me");
		assertThat(response.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
		assertThat(response.getBody()).contains("\"service\":\"profile\"").contains("\"reason\":\"CONNECT_FAILURE\"");
	}

	@Test
	void answersABodyBrokenOffMidwayAsA503ProblemNotTheClientsIoError() {
		profile.stubFor(get("/profile/api/userinfo").willReturn(aResponse().withFault(Fault.MALFORMED_RESPONSE_CHUNK)));
		assertThat(call(start(false), "/api/me").getStatusCode()).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
		ResponseEntity<String> response = call(start(true), "/api/me");
		assertThat(response.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
		assertThat(response.getBody()).contains("\"service\":\"profile\"").contains("\"reason\":\"SERVER_ERROR\"");
	}

	@Test
	void leavesADownstream404AsPlainBootDoes() {
		profileAnswers(404);
		assertThat(call(start(false), "/api/me").getStatusCode()).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
		assertThat(call(start(true), "/api/me").getStatusCode()).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
	}

	@Test
	void plainBootAnswers500ForTheSame503() {
		profileAnswers(503);
		assertThat(call(start(false), "/api/me").getStatusCode()).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
	}

	@Test
	void neverTrustsTheServiceHeaderWhenADownstreamSendsItItself() {
		profile.stubFor(get("/profile/api/userinfo").willReturn(aResponse().withStatus(500)
			.withHeader("Tis-Resilience-Service", "<img src=x onerror=alert(1)> evil")
			.withHeader("Retry-After", "31536000")));
		ResponseEntity<String> unprotected = call(start(true), "/api/unprotected");
		assertThat(unprotected.getStatusCode()).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
		assertThat(String.valueOf(unprotected.getBody())).doesNotContain("evil");
		ResponseEntity<String> app = call(start(true), "/api/me");
		assertThat(app.getStatusCode()).isEqualTo(HttpStatus.SERVICE_UNAVAILABLE);
		assertThat(app.getBody()).contains("\"service\":\"profile\"").doesNotContain("evil");
		// A downstream's wait is passed on, up to five minutes.
		assertThat(app.getHeaders().getFirst("Retry-After")).isEqualTo("300");
	}

	@Test
	void leavesAnUnprotectedClientsFailureAlone() {
		profileAnswers(503);
		assertThat(call(start(true), "/api/unprotected").getStatusCode()).isEqualTo(HttpStatus.INTERNAL_SERVER_ERROR);
	}

	private ConfigurableApplicationContext start(boolean starter) {
		return start(starter, profile.baseUrl() + "/profile");
	}

	private ConfigurableApplicationContext start(boolean starter, String profileUrl) {
		ConfigurableApplicationContext app = new SpringApplicationBuilder(TcsLike.class).run("--server.port=0",
				"--server.address=127.0.0.1", "--tis.resilience.enabled=" + starter,
				"--tis.resilience.services.profile.url=" + profileUrl,
				"--tis.resilience.services.profile.retry.max-attempts=1");
		this.apps.add(app);
		return app;
	}

	private static ResponseEntity<String> call(ConfigurableApplicationContext app, String path) {
		return LoopbackFixtures.getFrom(app, path);
	}

	@SpringBootConfiguration
	@EnableAutoConfiguration(excludeName = {
			"org.springframework.boot.security.autoconfigure.SecurityAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.UserDetailsServiceAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.web.servlet.ServletWebSecurityAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.web.servlet.SecurityFilterAutoConfiguration",
			"org.springframework.boot.security.autoconfigure.actuate.web.servlet.ManagementWebSecurityAutoConfiguration" })
	@RestController
	static class TcsLike {

		private final RestClient profile;

		private final String profileUrl;

		private org.springframework.web.reactive.function.client.WebClient reactiveProfile;

		@org.springframework.beans.factory.annotation.Autowired
		void setWebClientBuilder(org.springframework.web.reactive.function.client.WebClient.Builder builder) {
			this.reactiveProfile = builder.baseUrl(this.profileUrl).build();
		}

		@GetMapping("/api/me-reactive")
		String meReactive() {
			return this.reactiveProfile.get().uri("/api/userinfo").retrieve().bodyToMono(String.class)
				.block(java.time.Duration.ofSeconds(20));
		}

		TcsLike(RestClient.Builder builder, org.springframework.core.env.Environment environment) {
			this.profileUrl = environment.getRequiredProperty("tis.resilience.services.profile.url");
			this.profile = builder.baseUrl(this.profileUrl).build();
		}

		@GetMapping("/api/me")
		String me() {
			return this.profile.get().uri("/api/userinfo").retrieve().body(String.class);
		}

		@GetMapping("/api/unprotected")
		String unprotected() {
			// Built by hand, with no starter hook: its failures are the application's, as without the starter.
			return RestClient.create(this.profileUrl).get().uri("/api/userinfo").retrieve().body(String.class);
		}

	}

}
