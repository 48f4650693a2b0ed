"""Names hidden by capture: at least every identifier Datadog Dynamic Instrumentation redacts by
default, however it is spelled, plus names the server adds."""

from borescope_agent import capture

# Datadog Dynamic Instrumentation's built-in redacted identifiers (dd-trace-py,
# ddtrace/debugging/_redaction.py), as normalised names.
DATADOG = """2fa accesstoken aiohttpsession apikey apisecret apisignature appkey applicationkey auth
authorization authtoken ccnumber certificatepin cipher clientid clientsecret connectionstring
connectsid cookie credentials creditcard csrf csrftoken cvv databaseurl dburl encryptionkey
encryptionkeyid geolocation gpgkey ipaddress jti jwt licensekey masterkey mysqlpwd nonce oauth
oauthtoken otp passhash passwd password passwordb pemfile pgpkey phpsessid pin pincode pkcs8
privatekey publickey pwd recaptchakey refreshtoken routingnumber salt secret secretkey
secrettoken securityanswer securitycode securityquestion serviceaccountcredentials session
sessionid sessionkey setcookie signature signaturekey sshkey ssn symfony token transactionid
twiliotoken usersession voterid xapikey xauthtoken xcsrftoken xforwardedfor xrealip xsrf
xsrftoken""".split()


def test_every_datadog_identifier_is_redacted():
    assert len(DATADOG) == 85
    missing = [name for name in DATADOG if not capture.is_secret_name(name)]
    assert missing == []


def test_spellings_are_normalised():
    for name in ("API_KEY", "X-Api-Key", "$password", "@token", ".Set-Cookie", b"session_id"):
        assert capture.is_secret_name(name), name
    for name in ("order", "total", "user_name", 42):
        assert not capture.is_secret_name(name), name


def test_extra_names_from_the_server_are_redacted_in_names_keys_and_attributes():
    class Customer(object):
        def __init__(self):
            self.customer_ref = "C-1"
            self.name = "Ada"

    budget = {"secret_names": frozenset([capture.normal_name("customer_ref")])}
    assert capture.variable("customer_ref", "C-1", budget)["redacted"]
    assert capture.value_text({"customer_ref": 1, "a": 2}, budget)[0] == "{'customer_ref': <redacted>, 'a': 2}"
    assert capture.value_text(Customer(), budget)[0] == "Customer(customer_ref=<redacted>, name='Ada')"
    assert not capture.variable("customer_ref", "C-1", {}).get("redacted")
