package uk.nhs.hee.tis.resilience.autoconfigure.fallback;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import com.github.tomakehurst.wiremock.junit5.WireMockExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.MDC;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.security.authentication.TestingAuthenticationToken;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.web.client.HttpClientErrorException;
import org.springframework.web.client.HttpServerErrorException;
import org.springframework.web.client.RestClient;
import org.springframework.web.service.annotation.GetExchange;
import org.springframework.web.service.registry.ImportHttpServices;

import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.annotation.Fallback;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.get;
import static com.github.tomakehurst.wiremock.client.WireMock.ok;
import static com.github.tomakehurst.wiremock.client.WireMock.serviceUnavailable;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/** Each fallback form, against a real downstream on loopback that hangs, refuses, fails or is broken. */
class FallbackTests {

	@RegisterExtension
	static WireMockExtension server = LoopbackFixtures.loopbackServer();

	private final ApplicationContextRunner runner = new ApplicationContextRunner()
		.withConfiguration(LoopbackFixtures.protectedHttpClients(FallbackAutoConfiguration.class))
		.withUserConfiguration(Clients.class)
		.withPropertyValues("tis.resilience.services.profile.url=" + server.baseUrl() + "/profile",
				"tis.resilience.services.profile.response-timeout=500ms",
				"tis.resilience.services.profile.retry.max-attempts=1",
				"spring.http.serviceclient.profile.base-url=" + server.baseUrl() + "/profile",
				"profile.url=" + server.baseUrl() + "/profile");

	@AfterEach
	void clearCallerContext() {
		MDC.clear();
		SecurityContextHolder.clearContext();
	}

	@Test
	void answersWithTheFallbackMethodWhenTheDownstreamHangs() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(5_000)));
		this.runner.run((context) -> assertThat(context.getBean(ProfileService.class).userinfo("ada"))
			.isEqualTo("unavailable ada: TIMEOUT"));
	}

	@Test
	void answersWithTheFallbackMethodWhenTheConnectionIsRefused() throws IOException {
		int closedPort;
		try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
			closedPort = socket.getLocalPort();
		}
		this.runner.withPropertyValues("profile.url=http://127.0.0.1:" + closedPort + "/profile",
				"tis.resilience.services.profile.url=http://127.0.0.1:" + closedPort + "/profile")
			.run((context) -> assertThat(context.getBean(ProfileService.class).userinfo("ada"))
				.isEqualTo("unavailable ada: CONNECT_FAILURE"));
	}

	@Test
	void answersWithTheMostSpecificFallbackWhenTheDownstreamAnswers503() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> assertThat(context.getBean(ProfileService.class).userinfo("ada"))
			.isEqualTo("failed ada: ServiceUnavailable"));
	}

	@Test
	void answersWithTheFallbackWhenTheBreakerIsOpenWithoutCallingTheDownstream() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("me")));
		this.runner.run((context) -> {
			context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker().transitionToForcedOpenState();
			assertThat(context.getBean(ProfileService.class).userinfo("ada")).isEqualTo("unavailable ada: CIRCUIT_OPEN");
			assertThat(server.getAllServeEvents()).isEmpty();
		});
	}

	@Test
	void letsA404ThroughToTheCaller() {
		server.stubFor(get("/profile/api/userinfo").willReturn(aResponse().withStatus(404)));
		this.runner.run((context) -> assertThatExceptionOfType(HttpClientErrorException.NotFound.class)
			.isThrownBy(() -> context.getBean(ProfileService.class).userinfo("ada")));
	}

	@Test
	void letsThroughWhatSkipOnNames() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> assertThatExceptionOfType(HttpServerErrorException.class)
			.isThrownBy(() -> context.getBean(ProfileService.class).userinfoSkippingServerErrors()));
	}

	@Test
	void answersOnlyForWhatApplyOnNames() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			ProfileService profile = context.getBean(ProfileService.class);
			assertThatExceptionOfType(HttpServerErrorException.class).isThrownBy(profile::userinfoOnlyWhenUnavailable);
			server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(5_000)));
			assertThat(profile.userinfoOnlyWhenUnavailable()).isEqualTo("paused");
		});
	}

	@Test
	void appliesATypeLevelFallbackToEveryPublicMethod() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			ReferenceService reference = context.getBean(ReferenceService.class);
			assertThat(reference.grades()).isEqualTo("no grades");
			assertThat(reference.sites("1,2")).isEqualTo("no sites for 1,2");
		});
	}

	@Test
	void answersWithAFallbackBeanForAnHttpInterfaceAndKeepsTheClientInjectable() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			assertThat(context.getBean(ProfileApiConsumer.class).profileApi()).isNotInstanceOf(ProfileApiFallback.class);
			assertThat(context.getBean(ProfileApiConsumer.class).profileApi().userinfo()).isEqualTo("fallback bean: hello");
			assertThat(context.getBean(ProfileApiFallback.class).calls).hasValue(1);
		});
	}

	@Test
	void answersWithADefaultMethodOfAnHttpInterface() {
		server.stubFor(get("/profile/api/userinfo").willReturn(ok("late").withFixedDelay(5_000)));
		this.runner.run((context) -> assertThat(context.getBean(ProfileDefaultApi.class).userinfo())
			.isEqualTo("default method: TIMEOUT"));
	}

	@Test
	void runsTheFallbackWithTheCallersMdcAndSecurityContext() {
		server.stubFor(get("/profile/api/userinfo").willReturn(serviceUnavailable()));
		this.runner.run((context) -> {
			MDC.put("requestId", "req-42");
			SecurityContextHolder.getContext().setAuthentication(new TestingAuthenticationToken("ada", "secret"));
			assertThat(context.getBean(ProfileService.class).userinfoWithCallerContext())
				.isEqualTo("req-42 as ada");
		});
	}

	@Configuration(proxyBeanMethods = false)
	@Import({ ProfileService.class, ReferenceService.class, ProfileApiFallback.class, ProfileApiConsumer.class,
			Greeting.class })
	@ImportHttpServices(group = "profile", types = { ProfileApi.class, ProfileDefaultApi.class })
	static class Clients {

		@Bean
		RestClient profileRestClient(RestClient.Builder builder, org.springframework.core.env.Environment environment) {
			return builder.baseUrl(environment.getRequiredProperty("profile.url")).build();
		}

	}

	static class ProfileService {

		private final RestClient profile;

		ProfileService(RestClient profileRestClient) {
			this.profile = profileRestClient;
		}

		@Fallback(method = "userinfoFallback")
		public String userinfo(String user) {
			return this.profile.get().uri("/api/userinfo").retrieve().body(String.class);
		}

		String userinfoFallback(String user, ServiceUnavailableException ex) {
			return "unavailable " + user + ": " + ex.reason();
		}

		String userinfoFallback(String user, Exception ex) {
			return "failed " + user + ": " + ex.getClass().getSimpleName();
		}

		@Fallback(method = "skipped", skipOn = HttpServerErrorException.class)
		public String userinfoSkippingServerErrors() {
			return this.profile.get().uri("/api/userinfo").retrieve().body(String.class);
		}

		String skipped() {
			return "skipped";
		}

		@Fallback(method = "paused", applyOn = ServiceUnavailableException.class)
		public String userinfoOnlyWhenUnavailable() {
			return this.profile.get().uri("/api/userinfo").retrieve().body(String.class);
		}

		String paused() {
			return "paused";
		}

		@Fallback(method = "withCallerContext")
		public String userinfoWithCallerContext() {
			return this.profile.get().uri("/api/userinfo").retrieve().body(String.class);
		}

		String withCallerContext() {
			return MDC.get("requestId") + " as " + SecurityContextHolder.getContext().getAuthentication().getName();
		}

	}

	@Fallback(method = "unavailable")
	static class ReferenceService {

		private final RestClient profile;

		ReferenceService(RestClient profileRestClient) {
			this.profile = profileRestClient;
		}

		public String grades() {
			return this.profile.get().uri("/api/userinfo").retrieve().body(String.class);
		}

		public String sites(String ids) {
			return this.profile.get().uri("/api/userinfo").retrieve().body(String.class);
		}

		String unavailable(Throwable ex) {
			return "no grades";
		}

		String unavailable(String ids) {
			return "no sites for " + ids;
		}

	}

	@Fallback(bean = ProfileApiFallback.class)
	interface ProfileApi {

		@GetExchange("/api/userinfo")
		String userinfo();

	}

	public interface ProfileDefaultApi {

		@GetExchange("/api/userinfo")
		@Fallback(method = "offline")
		String userinfo();

		default String offline(ServiceUnavailableException ex) {
			return "default method: " + ex.reason();
		}

	}

	static class Greeting {

		String text() {
			return "hello";
		}

	}

	static class ProfileApiFallback implements ProfileApi {

		final AtomicInteger calls = new AtomicInteger();

		private final Greeting greeting;

		ProfileApiFallback(Greeting greeting) {
			this.greeting = greeting;
		}

		@Override
		public String userinfo() {
			this.calls.incrementAndGet();
			return "fallback bean: " + this.greeting.text();
		}

	}

	static class ProfileApiConsumer {

		private final AtomicReference<ProfileApi> api = new AtomicReference<>();

		@Autowired
		void setProfileApi(ProfileApi profileApi) {
			this.api.set(profileApi);
		}

		ProfileApi profileApi() {
			return this.api.get();
		}

	}

}
